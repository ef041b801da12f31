"""The one door to the Kubernetes API besides Kopf itself: typed reads and writes of our kinds and Secrets."""
