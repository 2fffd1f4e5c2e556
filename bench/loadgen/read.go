package main

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"sort"
	"time"

	"google.golang.org/grpc"
)

var (
	serverStream = &grpc.StreamDesc{ServerStreams: true}
	bidiStream   = &grpc.StreamDesc{ServerStreams: true, ClientStreams: true}
)

func lastToken(ctx context.Context, cc *grpc.ClientConn) (int64, error) {
	req, reply := []byte{}, []byte{}
	if err := cc.Invoke(ctx, eventStore+"GetLastToken", &req, &reply); err != nil {
		return 0, err
	}
	return varintField(reply, 1)
}

// runReplay reads ListEvents from token 0 up to the last token (or -max-events,
// or -seconds, whichever comes first), granting -permits at a time, topping up
// by half a window whenever half a window has been consumed.
func runReplay(o options) error {
	cc, err := dial(o)
	if err != nil {
		return err
	}
	defer cc.Close()
	ctx, cancel := context.WithCancel(withContext(context.Background(), o))
	defer cancel()
	last, err := lastToken(ctx, cc)
	if err != nil {
		return fmt.Errorf("GetLastToken: %v", err)
	}
	target := last
	if o.maxEvents > 0 && o.maxEvents-1 < target {
		target = o.maxEvents - 1
	}
	if target < 0 {
		return fmt.Errorf("the store is empty: nothing to replay")
	}
	cpu0 := cpuSeconds()
	start := time.Now()
	deadline := start.Add(time.Duration(o.seconds * float64(time.Second)))
	st, err := cc.NewStream(ctx, bidiStream, eventStore+"ListEvents")
	if err != nil {
		return err
	}
	first := encodeGetEventsRequest(0, o.window, "bench-"+newRunID())
	if err := st.SendMsg(&first); err != nil {
		return err
	}
	half := o.window / 2
	if half < 1 {
		half = 1
	}
	topUp := encodePermits(half)
	var n, bytes, sinceGrant int64
	var token int64 = -1
	var firstByte time.Duration
	msg := make([]byte, 0, 1024)
	reachedLast := false
	for {
		if err := st.RecvMsg(&msg); err != nil {
			return fmt.Errorf("ListEvents after %d events: %v", n, err)
		}
		if n == 0 {
			firstByte = time.Since(start)
		}
		n++
		bytes += int64(len(msg))
		if token, err = varintField(msg, 1); err != nil {
			return fmt.Errorf("bad EventWithToken: %v", err)
		}
		if token >= target {
			reachedLast = true
			break
		}
		sinceGrant++
		if sinceGrant >= half {
			sinceGrant = 0
			if err := st.SendMsg(&topUp); err != nil {
				return err
			}
		}
		if n%1024 == 0 && time.Now().After(deadline) {
			break
		}
	}
	elapsed := time.Since(start).Seconds()
	_ = st.CloseSend()
	cancel()
	emit(map[string]any{"mode": "replay", "label": o.label, "events": n, "bytes": bytes,
		"last_token": last, "final_token": token, "reached_target": reachedLast, "permits": o.window,
		"seconds": elapsed, "events_per_s": float64(n) / elapsed, "mb_per_s": float64(bytes) / elapsed / 1e6,
		"first_event_ms": float64(firstByte.Microseconds()) / 1000, "client_cpu_s": cpuSeconds() - cpu0})
	return nil
}

// readAll drains a server stream, returning the message count and bytes.
func readAll(st grpc.ClientStream) (int64, int64, error) {
	var n, bytes int64
	msg := make([]byte, 0, 1024)
	for {
		err := st.RecvMsg(&msg)
		if errors.Is(err, io.EOF) {
			return n, bytes, nil
		}
		if err != nil {
			return n, bytes, err
		}
		n++
		bytes += int64(len(msg))
	}
}

func openServerStream(ctx context.Context, cc *grpc.ClientConn, method string, req []byte) (grpc.ClientStream, error) {
	st, err := cc.NewStream(ctx, serverStream, method)
	if err != nil {
		return nil, err
	}
	if err := st.SendMsg(&req); err != nil {
		return nil, err
	}
	return st, st.CloseSend()
}

type timed struct {
	ms     []float64
	n      int64
	bytes  int64
	totalS float64
}

func (t *timed) add(d time.Duration, n, bytes int64) {
	t.ms = append(t.ms, float64(d.Microseconds())/1000)
	t.n += n
	t.bytes += bytes
	t.totalS += d.Seconds()
}

func (t *timed) fields(out map[string]any) {
	sort.Float64s(t.ms)
	out["min_ms"] = t.ms[0]
	out["median_ms"] = t.ms[len(t.ms)/2]
	out["max_ms"] = t.ms[len(t.ms)-1]
	out["events_per_s"] = float64(t.n) / t.totalS
	out["msgs_per_s"] = float64(t.n) / t.totalS
	out["bytes"] = t.bytes
}

// runRawRead: raw_server.py streams -events messages of exactly one
// EventWithToken's size (its -mode sizes), -repeat times; the replay ceiling.
// -label selects the server's method: "Read" (async generator) or
// "ReadWrite" (context.write), both bare grpc.aio.
func runRawRead(o options) error {
	cc, err := dial(o)
	if err != nil {
		return err
	}
	defer cc.Close()
	_, size := sampleSizes(o.payload)
	req := make([]byte, 16)
	binary.LittleEndian.PutUint64(req[0:], uint64(o.events))
	binary.LittleEndian.PutUint64(req[8:], uint64(size))
	method := "Read"
	if o.label == "ReadWrite" {
		method = "ReadWrite"
	}
	cpu0 := cpuSeconds()
	var t timed
	for i := 0; i < o.repeat; i++ {
		start := time.Now()
		st, err := openServerStream(context.Background(), cc, rawService+method, req)
		if err != nil {
			return err
		}
		n, bytes, err := readAll(st)
		if err != nil {
			return fmt.Errorf("raw %s after %d: %v", method, n, err)
		}
		t.add(time.Since(start), n, bytes)
	}
	out := map[string]any{"mode": "raw-read", "label": o.label, "method": method, "events": o.events,
		"message_bytes": size, "repeat": o.repeat, "client_cpu_s": cpuSeconds() - cpu0}
	t.fields(out)
	emit(out)
	return nil
}

// runLoadAggregate prepares one aggregate of -aggregate-events events (100 per
// transaction) unless -aggregate names an existing one, then times -repeat
// complete ListAggregateEvents reads from sequence 0.
func runLoadAggregate(o options) error {
	cc, err := dial(o)
	if err != nil {
		return err
	}
	defer cc.Close()
	ctx := withContext(context.Background(), o)
	aggID := o.aggregate
	if aggID == "" {
		runID := newRunID()
		aggID = "load-" + runID
		enc := newEventEncoder(runID, 0, o.payload)
		perTx := o.perTx
		if perTx < 1 {
			perTx = 100
		}
		for seq := 0; seq < o.aggEvents; seq += perTx {
			var batch [][]byte
			for s := seq; s < seq+perTx && s < o.aggEvents; s++ {
				batch = append(batch, append([]byte(nil), enc.encode(aggID, int64(s))...))
			}
			if err := sendTx(ctx, cc, eventStore+"AppendEvent", batch, true); err != nil {
				return fmt.Errorf("preparing %s at %d: %v", aggID, seq, err)
			}
		}
	}
	req := encodeGetAggregateEventsRequest(aggID, 0)
	cpu0 := cpuSeconds()
	var t timed
	for i := 0; i < o.repeat; i++ {
		start := time.Now()
		st, err := openServerStream(ctx, cc, eventStore+"ListAggregateEvents", req)
		if err != nil {
			return err
		}
		n, bytes, err := readAll(st)
		if err != nil {
			return fmt.Errorf("ListAggregateEvents after %d: %v", n, err)
		}
		t.add(time.Since(start), n, bytes)
		if o.aggregate == "" && n != int64(o.aggEvents) {
			return fmt.Errorf("aggregate %s returned %d events, expected %d", aggID, n, o.aggEvents)
		}
	}
	out := map[string]any{"mode": "load-aggregate", "label": o.label, "aggregate": aggID,
		"events": t.n / int64(o.repeat), "repeat": o.repeat, "client_cpu_s": cpuSeconds() - cpu0}
	t.fields(out)
	emit(out)
	return nil
}
