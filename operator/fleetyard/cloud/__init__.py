"""The one door to AWS: boto3 sessions and clients built in one place, returning typed values.

Every client honours the standard AWS settings (AWS_ENDPOINT_URL, AWS_REGION, credentials), so the
same code runs against AWS and against moto. No call site takes an endpoint.
"""
