package main

// Command and query round trips: dispatcher -> server -> handler -> back.
//
// Modes `command` and `query` run both ends in this one process: a handler
// stream (CommandService/OpenStream or QueryService/OpenStream) on
// -handler-addr that answers every message at once, and -clients dispatchers
// on -addr doing Dispatch (unary) or Query (server stream, read to its end) in
// a loop. One process, so that the handler lives exactly as long as the
// dispatchers and the loadgen itself can wait until the handler is reachable
// through the dispatchers' node before it measures (a probe dispatch retried
// until it succeeds, bounded by -ready-timeout). `raw-command` and
// `raw-query` send the same encoded messages to bench/raw_server.py's Echo
// (unary) and EchoOnce (server stream of one message): the ceiling of one
// Python gRPC server for that round-trip shape.

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"sync"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/protobuf/encoding/protowire"
)

const (
	commandService = "/io.axoniq.axonserver.grpc.command.CommandService/"
	queryService   = "/io.axoniq.axonserver.grpc.query.QueryService/"
	benchCommand   = "io.ranvier.bench.BenchCommand"
	benchQuery     = "io.ranvier.bench.BenchQuery"
	benchResult    = "io.ranvier.bench.BenchResult"
	benchComponent = "ranvier-bench"
	// Permits a handler grants up front, and tops up by half whenever half
	// has been used: far more than 64 dispatchers can have in flight, so the
	// server never holds a message back for lack of permits.
	handlerPermits = 10_000
)

// -- encoding -----------------------------------------------------------------

func appendString(b []byte, num protowire.Number, s string) []byte {
	if s == "" {
		return b
	}
	b = protowire.AppendTag(b, num, protowire.BytesType)
	return protowire.AppendString(b, s)
}

func appendMessage(b []byte, num protowire.Number, msg []byte) []byte {
	b = protowire.AppendTag(b, num, protowire.BytesType)
	return protowire.AppendBytes(b, msg)
}

func appendVarint(b []byte, num protowire.Number, v uint64) []byte {
	b = protowire.AppendTag(b, num, protowire.VarintType)
	return protowire.AppendVarint(b, v)
}

// serializedObject: SerializedObject{type=1, data=3}.
func serializedObject(typ string, data []byte) []byte {
	b := appendString(nil, 1, typ)
	b = protowire.AppendTag(b, 3, protowire.BytesType)
	return protowire.AppendBytes(b, data)
}

// encodeCommand: Command{message_identifier=1, name=2, timestamp=3, payload=4,
// client_id=7, component_name=8}.
func encodeCommand(id, client string, payload []byte) []byte {
	b := appendString(nil, 1, id)
	b = appendString(b, 2, benchCommand)
	b = appendVarint(b, 3, uint64(time.Now().UnixMilli()))
	b = appendMessage(b, 4, serializedObject(benchCommand, payload))
	b = appendString(b, 7, client)
	return appendString(b, 8, benchComponent)
}

// encodeQuery: QueryRequest{message_identifier=1, query=2, timestamp=3,
// payload=4, client_id=8, component_name=9}.
func encodeQuery(id, client string, payload []byte) []byte {
	b := appendString(nil, 1, id)
	b = appendString(b, 2, benchQuery)
	b = appendVarint(b, 3, uint64(time.Now().UnixMilli()))
	b = appendMessage(b, 4, serializedObject(benchQuery, payload))
	b = appendString(b, 8, client)
	return appendString(b, 9, benchComponent)
}

// fieldBytes returns the first length-delimited field `num` at the top level
// of msg (ok false when absent).
func fieldBytes(msg []byte, num protowire.Number) ([]byte, bool, error) {
	for len(msg) > 0 {
		n, typ, l := protowire.ConsumeTag(msg)
		if l < 0 {
			return nil, false, protowire.ParseError(l)
		}
		msg = msg[l:]
		if n == num && typ == protowire.BytesType {
			v, l := protowire.ConsumeBytes(msg)
			if l < 0 {
				return nil, false, protowire.ParseError(l)
			}
			return v, true, nil
		}
		l = protowire.ConsumeFieldValue(n, typ, msg)
		if l < 0 {
			return nil, false, protowire.ParseError(l)
		}
		msg = msg[l:]
	}
	return nil, false, nil
}

// axonError reads the error of a CommandResponse or QueryResponse (same field
// numbers: error_code=2, error_message=3 with ErrorMessage.message=1); "" when
// the response carries none.
func axonError(resp []byte) (string, error) {
	code, _, err := fieldBytes(resp, 2)
	if err != nil || len(code) == 0 {
		return "", err
	}
	text := string(code)
	if em, ok, _ := fieldBytes(resp, 3); ok {
		if m, ok, _ := fieldBytes(em, 1); ok {
			text += ": " + string(m)
		}
	}
	return text, nil
}

// -- the handler --------------------------------------------------------------

// handlerProtocol is what differs between a command and a query handler
// stream; both read acks as field 1 and the data message as field 2 of their
// inbound message, and the message identifier as field 1 of that.
type handlerProtocol struct {
	method    string
	subscribe func(name, client, instruction string) []byte
	permits   func(client string, n int64) []byte
	answer    func(requestID string, ids *idSource, payload []byte) [][]byte
}

var commandHandler = handlerProtocol{
	method: commandService + "OpenStream",
	// CommandProviderOutbound{subscribe=1: CommandSubscription{message_id=1,
	// command=2, component_name=3, client_id=4, load_factor=5}, instruction_id=6}
	subscribe: func(name, client, instruction string) []byte {
		sub := appendString(nil, 1, instruction)
		sub = appendString(sub, 2, name)
		sub = appendString(sub, 3, benchComponent)
		sub = appendString(sub, 4, client)
		sub = appendVarint(sub, 5, 100)
		return appendString(appendMessage(nil, 1, sub), 6, instruction)
	},
	// flow_control=3: FlowControl{client_id=2, permits=3}
	permits: func(client string, n int64) []byte {
		return appendMessage(nil, 3, appendVarint(appendString(nil, 2, client), 3, uint64(n)))
	},
	// command_response=4: CommandResponse{message_identifier=1, payload=4, request_identifier=7}
	answer: func(requestID string, ids *idSource, payload []byte) [][]byte {
		resp := appendString(nil, 1, ids.next())
		resp = appendMessage(resp, 4, serializedObject(benchResult, payload))
		resp = appendString(resp, 7, requestID)
		return [][]byte{appendMessage(nil, 4, resp)}
	},
}

var queryHandler = handlerProtocol{
	method: queryService + "OpenStream",
	// QueryProviderOutbound{subscribe=1: QuerySubscription{message_id=1,
	// query=2, result_name=3, component_name=4, client_id=5}, instruction_id=8}
	subscribe: func(name, client, instruction string) []byte {
		sub := appendString(nil, 1, instruction)
		sub = appendString(sub, 2, name)
		sub = appendString(sub, 3, benchResult)
		sub = appendString(sub, 4, benchComponent)
		sub = appendString(sub, 5, client)
		return appendString(appendMessage(nil, 1, sub), 8, instruction)
	},
	permits: commandHandler.permits, // flow_control is field 3 in both
	// query_response=4: QueryResponse{message_identifier=1, payload=4,
	// request_identifier=7}, then query_complete=5: QueryComplete{message_id=1, request_id=2}
	answer: func(requestID string, ids *idSource, payload []byte) [][]byte {
		resp := appendString(nil, 1, ids.next())
		resp = appendMessage(resp, 4, serializedObject(benchResult, payload))
		resp = appendString(resp, 7, requestID)
		done := appendString(appendString(nil, 1, ids.next()), 2, requestID)
		return [][]byte{appendMessage(nil, 4, resp), appendMessage(nil, 5, done)}
	},
}

// idSource hands out UUID-shaped message identifiers, unique per run and source.
type idSource struct {
	prefix string
	n      uint64
}

func newIDSource(runID string, source int) *idSource {
	return &idSource{prefix: fmt.Sprintf("%8.8s-%04x-%04x-", runID, source&0xffff, (source>>16)&0xffff)}
}

func (s *idSource) next() string {
	s.n++
	return fmt.Sprintf("%s%04x-%012x", s.prefix, (s.n>>48)&0xffff, s.n&0xffffffffffff)
}

// runHandler subscribes to `name` and answers everything until ctx ends. The
// subscription's acknowledgement (or the stream's failure) goes to subscribed.
func runHandler(ctx context.Context, cc *grpc.ClientConn, p handlerProtocol, name, runID string,
	payload []byte, subscribed chan<- error) error {
	st, err := cc.NewStream(ctx, bidiStream, p.method)
	if err != nil {
		subscribed <- err
		return err
	}
	client := "bench-handler-" + runID
	ids := newIDSource(runID, 0xfffff)
	for _, m := range [][]byte{p.subscribe(name, client, ids.next()), p.permits(client, handlerPermits)} {
		if err := st.SendMsg(&m); err != nil {
			subscribed <- err
			return err
		}
	}
	var used int64
	acked := false
	msg := make([]byte, 0, 1024)
	for {
		if err := st.RecvMsg(&msg); err != nil {
			if !acked {
				subscribed <- fmt.Errorf("handler stream: %v", err)
			}
			return err
		}
		if ack, ok, _ := fieldBytes(msg, 1); ok && !acked {
			acked = true
			subscribed <- ackError(ack)
			continue
		}
		data, ok, err := fieldBytes(msg, 2)
		if err != nil || !ok {
			continue // query_flow_control, query_cancel, ...: nothing to answer
		}
		id, _, _ := fieldBytes(data, 1)
		for _, reply := range p.answer(string(id), ids, payload) {
			if err := st.SendMsg(&reply); err != nil {
				return err
			}
		}
		if used++; used >= handlerPermits/2 {
			used = 0
			top := p.permits(client, handlerPermits/2)
			if err := st.SendMsg(&top); err != nil {
				return err
			}
		}
	}
}

// ackError: InstructionAck{success=2, error=3: ErrorMessage{message=1, error_code=4}}.
func ackError(ack []byte) error {
	if ok, _ := boolField(ack, 2); ok {
		return nil
	}
	text := "subscription refused"
	if em, found, _ := fieldBytes(ack, 3); found {
		code, _, _ := fieldBytes(em, 4)
		m, _, _ := fieldBytes(em, 1)
		text = fmt.Sprintf("subscription refused: %s %s", code, m)
	}
	return errors.New(text)
}

// -- dispatching --------------------------------------------------------------

// dispatcher does one round trip with an encoded request; an Axon error in a
// response is returned as an error like a gRPC failure.
type dispatcher func(ctx context.Context, cc *grpc.ClientConn, req []byte) error

func dispatchCommand(method string, axon bool) dispatcher {
	return func(ctx context.Context, cc *grpc.ClientConn, req []byte) error {
		var reply []byte
		if err := cc.Invoke(ctx, method, &req, &reply); err != nil {
			return err
		}
		return responseError(reply, axon)
	}
}

func dispatchQuery(method string, axon bool) dispatcher {
	return func(ctx context.Context, cc *grpc.ClientConn, req []byte) error {
		ctx, cancel := context.WithCancel(ctx)
		defer cancel()
		st, err := openServerStream(ctx, cc, method, req)
		if err != nil {
			return err
		}
		responses := 0
		msg := make([]byte, 0, 512)
		for {
			err := st.RecvMsg(&msg)
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				return err
			}
			responses++
			if err := responseError(msg, axon); err != nil {
				return err
			}
		}
		if responses == 0 {
			return errors.New("the query ended without a response")
		}
		return nil
	}
}

// responseError: the raw server echoes our request, whose field 2 is the
// command or query name, not an error code, so only Axon replies are read.
func responseError(reply []byte, axon bool) error {
	if !axon {
		return nil
	}
	text, err := axonError(reply)
	if err != nil {
		return fmt.Errorf("bad response: %v", err)
	}
	if text != "" {
		return errors.New(text)
	}
	return nil
}

type messagingShape struct {
	dispatch dispatcher
	encode   func(id, client string, payload []byte) []byte
	handler  *handlerProtocol // nil: no handler (the raw server)
	name     string
}

func shapeFor(mode string) (messagingShape, error) {
	switch mode {
	case "command":
		return messagingShape{dispatchCommand(commandService+"Dispatch", true), encodeCommand, &commandHandler, benchCommand}, nil
	case "query":
		return messagingShape{dispatchQuery(queryService+"Query", true), encodeQuery, &queryHandler, benchQuery}, nil
	case "raw-command":
		return messagingShape{dispatchCommand(rawService+"Echo", false), encodeCommand, nil, ""}, nil
	case "raw-query":
		return messagingShape{dispatchQuery(rawService+"EchoOnce", false), encodeQuery, nil, ""}, nil
	}
	return messagingShape{}, fmt.Errorf("unknown messaging mode %q", mode)
}

// -- the run ------------------------------------------------------------------

func runMessaging(o options) error {
	shape, err := shapeFor(o.mode)
	if err != nil {
		return err
	}
	runID := newRunID()
	payload := make([]byte, o.payload)
	for i := range payload {
		payload[i] = byte('a' + i%26)
	}
	ctx, cancel := context.WithCancel(withContext(context.Background(), o))
	defer cancel()
	conns, err := dialDispatchers(o)
	if err != nil {
		return err
	}
	defer closeAll(conns)
	if shape.handler != nil {
		if err := startHandler(ctx, o, shape, runID, payload); err != nil {
			return err
		}
	}
	readyS, err := waitReachable(ctx, o, shape, conns[0], runID, payload)
	if err != nil {
		return err
	}
	out := measure(ctx, o, shape, conns, runID, payload)
	out["ready_s"] = readyS
	emit(out)
	return nil
}

// dialDispatchers opens -conns connections (0: one per dispatcher, as the
// append mode does) so one HTTP/2 connection does not serialise 64 callers.
func dialDispatchers(o options) ([]*grpc.ClientConn, error) {
	n := o.conns
	if n <= 0 || n > o.clients {
		n = o.clients
	}
	conns := make([]*grpc.ClientConn, 0, n)
	for i := 0; i < n; i++ {
		cc, err := dial(o)
		if err != nil {
			closeAll(conns)
			return nil, err
		}
		conns = append(conns, cc)
	}
	return conns, nil
}

func closeAll(conns []*grpc.ClientConn) {
	for _, cc := range conns {
		cc.Close()
	}
}

// startHandler connects the handler to -handler-addr and waits for the
// server to acknowledge its subscription.
func startHandler(ctx context.Context, o options, shape messagingShape, runID string, payload []byte) error {
	ho := o
	if o.handlerAddr != "" {
		ho.addr = o.handlerAddr
	}
	if err := checkLoopback(ho.addr); err != nil {
		return err
	}
	cc, err := dial(ho)
	if err != nil {
		return err
	}
	go func() { <-ctx.Done(); cc.Close() }()
	subscribed := make(chan error, 1)
	go func() {
		err := runHandler(ctx, cc, *shape.handler, shape.name, runID, payload, subscribed)
		if err != nil && ctx.Err() == nil {
			fmt.Fprintln(os.Stderr, "loadgen: handler stream ended:", err)
		}
	}()
	select {
	case err := <-subscribed:
		if err != nil {
			return fmt.Errorf("handler on %s: %v", ho.addr, err)
		}
		return nil
	case <-time.After(time.Duration(o.readyTimeout * float64(time.Second))):
		return fmt.Errorf("handler on %s: no acknowledgement of its subscription within %.0f s", ho.addr, o.readyTimeout)
	}
}

// waitReachable retries one probe round trip until it succeeds: a handler
// subscribed on another node becomes visible to the dispatchers' node only
// when the cluster has told it, and the measurement must not count that wait.
func waitReachable(ctx context.Context, o options, shape messagingShape, cc *grpc.ClientConn,
	runID string, payload []byte) (float64, error) {
	ids := newIDSource(runID, 0xffffe)
	start := time.Now()
	deadline := start.Add(time.Duration(o.readyTimeout * float64(time.Second)))
	var last error
	for attempts := 1; ; attempts++ {
		pctx, cancel := context.WithTimeout(ctx, 2*time.Second)
		last = shape.dispatch(pctx, cc, shape.encode(ids.next(), "bench-probe", payload))
		cancel()
		if last == nil {
			return time.Since(start).Seconds(), nil
		}
		if time.Now().After(deadline) {
			return 0, fmt.Errorf("handler never became reachable within %.0f s (%d probes); last error: %v",
				o.readyTimeout, attempts, last)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

type dispatcherResult struct {
	ok, errors int64
	lat        []time.Duration
	firstErr   string
}

// measure runs the dispatchers for -warmup then -seconds; only round trips
// that start and end inside the measured window count.
func measure(ctx context.Context, o options, shape messagingShape, conns []*grpc.ClientConn,
	runID string, payload []byte) map[string]any {
	measureFrom := time.Now().Add(time.Duration(o.warmup * float64(time.Second)))
	measureTo := measureFrom.Add(time.Duration(o.seconds * float64(time.Second)))
	// A round trip still unanswered well after the window (a lost response
	// waiting for the server's command timeout) must not hold up the run.
	ctx, cancel := context.WithDeadline(ctx, measureTo.Add(10*time.Second))
	defer cancel()
	results := make([]dispatcherResult, o.clients)
	var cpu0 float64
	var cpuOnce sync.Once
	var wg sync.WaitGroup
	for d := 0; d < o.clients; d++ {
		wg.Add(1)
		go func(d int) {
			defer wg.Done()
			r := &results[d]
			ids := newIDSource(runID, d)
			client := fmt.Sprintf("bench-dispatcher-%s-%d", runID, d)
			cc := conns[d%len(conns)]
			for {
				req := shape.encode(ids.next(), client, payload)
				t0 := time.Now()
				if !t0.Before(measureTo) {
					return
				}
				err := shape.dispatch(ctx, cc, req)
				t1 := time.Now()
				if t0.Before(measureFrom) || t1.After(measureTo) {
					continue
				}
				cpuOnce.Do(func() { cpu0 = cpuSeconds() })
				if err != nil {
					r.errors++
					if r.firstErr == "" {
						r.firstErr = err.Error()
					}
					continue
				}
				r.ok++
				r.lat = append(r.lat, t1.Sub(t0))
			}
		}(d)
	}
	wg.Wait()
	return summarizeDispatchers(o, results, measureTo.Sub(measureFrom).Seconds(), cpuSeconds()-cpu0, len(conns))
}

func summarizeDispatchers(o options, results []dispatcherResult, elapsed, cpu float64, conns int) map[string]any {
	var ok, errs int64
	var lat []time.Duration
	firstErr := ""
	for _, r := range results {
		ok += r.ok
		errs += r.errors
		lat = append(lat, r.lat...)
		if firstErr == "" {
			firstErr = r.firstErr
		}
	}
	out := map[string]any{
		"mode": o.mode, "label": o.label, "dispatchers": o.clients, "connections": conns,
		"payload_bytes": o.payload, "seconds": elapsed, "round_trips": ok, "errors": errs,
		"round_trips_per_s": float64(ok) / elapsed, "client_cpu_s": cpu,
	}
	if firstErr != "" {
		out["first_error"] = firstErr
	}
	for k, v := range latencyStats(lat) {
		out[k] = v
	}
	return out
}
