// loadgen: a compiled load generator for `ranvier bench`.
//
// A Python client process tops out near 10-15k gRPC messages/s on our 2-core
// machine, so driving the node from Python would measure the client. This
// program speaks Axon's EventStore API with hand-encoded protobuf (a raw codec,
// no generated code), and also drives the bare grpc.aio server in
// bench/raw_server.py that gives the ceiling. Every result is one JSON line on
// stdout; progress and errors go to stderr. Only loopback targets are accepted.
package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"flag"
	"fmt"
	"net"
	"os"
	"runtime"
	"sort"
	"strings"
	"syscall"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/encoding"
	"google.golang.org/grpc/metadata"
)

const (
	eventStore = "/io.axoniq.axonserver.grpc.event.EventStore/"
	rawService = "/ranvier.bench.Raw/"
)

// rawCodec passes []byte through untouched; it replaces the "proto" codec so
// the content type stays application/grpc+proto.
type rawCodec struct{}

func (rawCodec) Marshal(v any) ([]byte, error) { return *(v.(*[]byte)), nil }
func (rawCodec) Unmarshal(d []byte, v any) error {
	*(v.(*[]byte)) = append((*(v.(*[]byte)))[:0], d...)
	return nil
}
func (rawCodec) Name() string { return "proto" }

type options struct {
	mode         string
	addr         string
	contextName  string
	clients      int
	perTx        int
	seconds      float64
	warmup       float64
	txCount      int
	payload      int
	events       int
	aggregates   int
	aggEvents    int
	window       int64
	aggregate    string
	repeat       int
	maxEvents    int64
	progress     float64
	label        string
	procs        int
	handlerAddr  string
	readyTimeout float64
	conns        int
}

func main() {
	var o options
	flag.StringVar(&o.mode, "mode", "", "append | replay | load-aggregate | fill | raw-write | raw-write-sync | raw-read | command | query | raw-command | raw-query | sizes")
	flag.StringVar(&o.addr, "addr", "127.0.0.1:8124", "gRPC target host:port (loopback only); append: several, comma-separated, client i uses the (i mod n)th")
	flag.StringVar(&o.contextName, "context", "default", "Axon context (AxonIQ-Context header)")
	flag.IntVar(&o.clients, "clients", 1, "concurrent clients (one connection and one stream at a time each); command, query: dispatchers")
	flag.IntVar(&o.perTx, "events-per-tx", 1, "events per AppendEvent stream (transaction) / messages per raw stream")
	flag.Float64Var(&o.seconds, "seconds", 10, "measured duration (append, raw-write, replay cap)")
	flag.Float64Var(&o.warmup, "warmup", 1, "seconds run before measuring (append, raw-write)")
	flag.IntVar(&o.txCount, "tx-count", 0, "stop after this many measured transactions in total (0: by duration)")
	flag.IntVar(&o.payload, "payload", 256, "payload bytes per event")
	flag.IntVar(&o.events, "events", 1_000_000, "fill: events to append; raw-read: messages to stream")
	flag.IntVar(&o.aggregates, "aggregates", 100_000, "fill: aggregates the events are spread over")
	flag.IntVar(&o.aggEvents, "aggregate-events", 1000, "append: events per aggregate before a client moves to a new one; load-aggregate: events to prepare")
	flag.Int64Var(&o.window, "permits", 10_000, "replay: permits granted at a time")
	flag.StringVar(&o.aggregate, "aggregate", "", "load-aggregate: read this existing aggregate instead of preparing one")
	flag.IntVar(&o.repeat, "repeat", 5, "load-aggregate: reads to time")
	flag.Int64Var(&o.maxEvents, "max-events", 0, "replay: stop after this many events (0: up to the last token)")
	flag.Float64Var(&o.progress, "progress", 5, "fill: seconds between progress lines")
	flag.StringVar(&o.label, "label", "", "copied into every output line")
	flag.StringVar(&o.handlerAddr, "handler-addr", "", "command, query: where the handler connects (default: -addr)")
	flag.Float64Var(&o.readyTimeout, "ready-timeout", 10, "command, query: seconds to wait for the handler to be reachable from -addr")
	flag.IntVar(&o.conns, "conns", 0, "command, query, raw-*: connections shared by the dispatchers (0: one per dispatcher)")
	flag.IntVar(&o.procs, "procs", 1, "GOMAXPROCS: one core is plenty for this client and leaves the other to the server")
	flag.Parse()
	if o.procs > 0 {
		runtime.GOMAXPROCS(o.procs)
	}

	if o.mode == "sizes" {
		ev, wt := sampleSizes(o.payload)
		emit(map[string]any{"mode": "sizes", "payload_bytes": o.payload, "event_bytes": ev, "event_with_token_bytes": wt})
		return
	}
	for _, addr := range targets(o) {
		if err := checkLoopback(addr); err != nil {
			fail(err)
		}
	}
	if len(targets(o)) > 1 && o.mode != "append" {
		fail(fmt.Errorf("-mode %s takes one -addr, not %q", o.mode, o.addr))
	}
	encoding.RegisterCodec(rawCodec{})
	var err error
	switch o.mode {
	case "append":
		err = runAppend(o, eventStore+"AppendEvent", true)
	case "raw-write":
		err = runAppend(o, rawService+"Write", false)
	case "raw-write-sync":
		err = runAppend(o, rawService+"WriteSync", false)
	case "fill":
		err = runFill(o)
	case "replay":
		err = runReplay(o)
	case "raw-read":
		err = runRawRead(o)
	case "load-aggregate":
		err = runLoadAggregate(o)
	case "command", "query", "raw-command", "raw-query":
		err = runMessaging(o)
	default:
		err = fmt.Errorf("unknown -mode %q", o.mode)
	}
	if err != nil {
		fail(err)
	}
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, "loadgen:", err)
	emit(map[string]any{"error": err.Error()})
	os.Exit(1)
}

func emit(v map[string]any) {
	line, _ := json.Marshal(v)
	fmt.Println(string(line))
}

// checkLoopback refuses any target that is not (or does not resolve only to)
// a loopback address: this tool generates heavy load.
func checkLoopback(addr string) error {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return fmt.Errorf("bad -addr %q: %v", addr, err)
	}
	ips, err := net.LookupIP(host)
	if err != nil || len(ips) == 0 {
		return fmt.Errorf("cannot resolve %q: %v", host, err)
	}
	for _, ip := range ips {
		if !ip.IsLoopback() {
			return fmt.Errorf("refusing non-loopback target %s (%s): the benchmark only runs against this machine", addr, ip)
		}
	}
	return nil
}

// targets: the addresses in -addr (several only for append).
func targets(o options) []string {
	return strings.Split(o.addr, ",")
}

func dial(o options) (*grpc.ClientConn, error) {
	return dialTarget(targets(o)[0])
}

func dialTarget(addr string) (*grpc.ClientConn, error) {
	return grpc.NewClient(addr,
		grpc.WithTransportCredentials(insecure.NewCredentials()),
		grpc.WithDefaultCallOptions(grpc.MaxCallRecvMsgSize(64<<20)),
		// Fixed flow-control windows turn off grpc-go's BDP probing, which
		// otherwise pings on every small DATA frame a Python server flushes
		// and costs the client more CPU than the messages themselves.
		grpc.WithInitialWindowSize(4<<20),
		grpc.WithInitialConnWindowSize(16<<20),
	)
}

func withContext(ctx context.Context, o options) context.Context {
	return metadata.AppendToOutgoingContext(ctx, "axoniq-context", o.contextName)
}

func newRunID() string {
	b := make([]byte, 4)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// cpuSeconds is this process's user+system CPU time, reported next to every
// result so a reader can see whether the client was the limit.
func cpuSeconds() float64 {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	tv := func(t syscall.Timeval) float64 { return float64(t.Sec) + float64(t.Usec)/1e6 }
	return tv(ru.Utime) + tv(ru.Stime)
}

func percentile(sorted []time.Duration, p float64) float64 {
	if len(sorted) == 0 {
		return 0
	}
	i := int(p*float64(len(sorted)-1) + 0.5)
	return float64(sorted[i].Microseconds()) / 1000
}

func latencyStats(lat []time.Duration) map[string]any {
	sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
	out := map[string]any{"p50_ms": percentile(lat, 0.50), "p99_ms": percentile(lat, 0.99)}
	if len(lat) > 0 {
		out["max_ms"] = float64(lat[len(lat)-1].Microseconds()) / 1000
	}
	return out
}
