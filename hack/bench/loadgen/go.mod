module fleetyard.io/hack/bench/loadgen

go 1.22
