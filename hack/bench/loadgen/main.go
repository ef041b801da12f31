// Command loadgen is the HTTP load generator of hack/bench/api_reads.py: N workers, each with its own
// keep-alive HTTP/1.1 connection, send GET requests to one URL back to back for a warm-up and then for
// a fixed duration, and it prints one JSON object with what the measured part saw (count, errors,
// status codes, bytes, latency percentiles in milliseconds, requests per second).
//
// Standard library only. The bearer token comes from the environment variable named by -token-env
// (never from the command line, where ps would show it). -cacert trusts a PEM CA (the local
// kube-apiserver's); plain http:// URLs need none.
//
//	go build -o ~/.cache/fleetyard/bench/loadgen ./hack/bench/loadgen
//	LOADGEN_TOKEN=... loadgen -url http://127.0.0.1:8000/infra/clusters?limit=100 -c 8 -d 10s -warmup 2s
package main

import (
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"math"
	"net"
	"net/http"
	"os"
	"sort"
	"sync"
	"sync/atomic"
	"time"
)

type result struct {
	URL         string         `json:"url"`
	Concurrency int            `json:"concurrency"`
	Duration    float64        `json:"durationSeconds"`
	Count       int            `json:"count"`
	Errors      int            `json:"errors"`
	Statuses    map[string]int `json:"statuses"`
	FirstError  string         `json:"firstError,omitempty"`
	Bytes       int64          `json:"bytes"`
	RPS         float64        `json:"rps"`
	P50         float64        `json:"p50"`
	P90         float64        `json:"p90"`
	P99         float64        `json:"p99"`
	Max         float64        `json:"max"`
	Mean        float64        `json:"mean"`
	MinBytes    int64          `json:"minBytes"`
	MaxBytes    int64          `json:"maxBytes"`
}

type sample struct {
	latency time.Duration
	status  int
	bytes   int64
	err     error
}

func main() {
	url := flag.String("url", "", "the URL to GET")
	concurrency := flag.Int("c", 1, "concurrent connections (one worker each)")
	duration := flag.Duration("d", 10*time.Second, "measured duration")
	warmup := flag.Duration("warmup", 2*time.Second, "unmeasured warm-up before the measured duration")
	tokenEnv := flag.String("token-env", "LOADGEN_TOKEN", "environment variable holding a bearer token (empty: none)")
	caCert := flag.String("cacert", "", "PEM file of a CA to trust for https:// URLs")
	timeout := flag.Duration("timeout", 30*time.Second, "timeout of one request")
	flag.Parse()
	if *url == "" || *concurrency < 1 {
		fmt.Fprintln(os.Stderr, "loadgen: -url is required and -c must be at least 1")
		os.Exit(2)
	}
	token := ""
	if *tokenEnv != "" {
		token = os.Getenv(*tokenEnv)
	}
	tlsConfig := &tls.Config{}
	if *caCert != "" {
		pem, err := os.ReadFile(*caCert)
		if err != nil {
			fmt.Fprintln(os.Stderr, "loadgen:", err)
			os.Exit(2)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			fmt.Fprintln(os.Stderr, "loadgen: no certificate in", *caCert)
			os.Exit(2)
		}
		tlsConfig.RootCAs = pool
	}

	var measuring atomic.Bool
	var stop atomic.Bool
	perWorker := make([][]sample, *concurrency)
	var wg sync.WaitGroup
	for w := 0; w < *concurrency; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			// one transport per worker: exactly one keep-alive connection each, HTTP/1.1 on both sides
			transport := &http.Transport{
				DialContext:         (&net.Dialer{Timeout: 5 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
				TLSClientConfig:     tlsConfig.Clone(),
				MaxIdleConnsPerHost: 1,
				MaxConnsPerHost:     1,
				DisableCompression:  true,
				ForceAttemptHTTP2:   false,
				TLSNextProto:        map[string]func(string, *tls.Conn) http.RoundTripper{},
			}
			client := &http.Client{Transport: transport, Timeout: *timeout}
			samples := make([]sample, 0, 4096)
			buf := make([]byte, 64*1024)
			for !stop.Load() {
				req, err := http.NewRequest(http.MethodGet, *url, nil)
				if err != nil {
					panic(err)
				}
				if token != "" {
					req.Header.Set("Authorization", "Bearer "+token)
				}
				req.Header.Set("Accept", "application/json")
				counted := measuring.Load()
				started := time.Now()
				resp, err := client.Do(req)
				s := sample{err: err}
				if err == nil {
					for {
						n, rerr := resp.Body.Read(buf)
						s.bytes += int64(n)
						if rerr == io.EOF {
							break
						}
						if rerr != nil {
							s.err = rerr
							break
						}
					}
					resp.Body.Close()
					s.status = resp.StatusCode
				}
				s.latency = time.Since(started)
				if counted && measuring.Load() {
					samples = append(samples, s)
				}
				if s.err != nil {
					time.Sleep(10 * time.Millisecond) // do not spin on a refused connection
				}
			}
			perWorker[w] = samples
		}(w)
	}
	time.Sleep(*warmup)
	measuring.Store(true)
	began := time.Now()
	time.Sleep(*duration)
	measuring.Store(false)
	elapsed := time.Since(began)
	stop.Store(true)
	wg.Wait()

	out := result{URL: *url, Concurrency: *concurrency, Duration: elapsed.Seconds(), Statuses: map[string]int{}}
	var latencies []float64
	var sum float64
	for _, samples := range perWorker {
		for _, s := range samples {
			if s.err != nil {
				out.Errors++
				if out.FirstError == "" {
					out.FirstError = s.err.Error()
				}
				continue
			}
			out.Statuses[fmt.Sprint(s.status)]++
			if s.status != http.StatusOK {
				out.Errors++
				continue
			}
			ms := float64(s.latency.Microseconds()) / 1000
			latencies = append(latencies, ms)
			sum += ms
			out.Bytes += s.bytes
			if out.MinBytes == 0 || s.bytes < out.MinBytes {
				out.MinBytes = s.bytes
			}
			if s.bytes > out.MaxBytes {
				out.MaxBytes = s.bytes
			}
		}
	}
	out.Count = len(latencies)
	out.RPS = float64(out.Count) / elapsed.Seconds()
	if len(latencies) > 0 {
		sort.Float64s(latencies)
		out.P50 = percentile(latencies, 0.50)
		out.P90 = percentile(latencies, 0.90)
		out.P99 = percentile(latencies, 0.99)
		out.Max = latencies[len(latencies)-1]
		out.Mean = sum / float64(len(latencies))
	}
	enc := json.NewEncoder(os.Stdout)
	if err := enc.Encode(out); err != nil {
		fmt.Fprintln(os.Stderr, "loadgen:", err)
		os.Exit(1)
	}
}

// percentile is the nearest-rank percentile (q in 0..1) of sorted values, like benchlib.percentile.
func percentile(sorted []float64, q float64) float64 {
	i := int(math.Ceil(q*float64(len(sorted)))) - 1
	if i < 0 {
		i = 0
	}
	if i >= len(sorted) {
		i = len(sorted) - 1
	}
	return sorted[i]
}
