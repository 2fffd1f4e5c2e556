package main

import (
	"context"
	"fmt"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"google.golang.org/grpc"
)

var clientStream = &grpc.StreamDesc{ClientStreams: true}

// sendTx sends one client stream (one Axon transaction) and waits for its reply.
func sendTx(ctx context.Context, cc *grpc.ClientConn, method string, events [][]byte, axon bool) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	st, err := cc.NewStream(ctx, clientStream, method)
	if err != nil {
		return err
	}
	for i := range events {
		if err := st.SendMsg(&events[i]); err != nil {
			break // the real error comes from RecvMsg
		}
	}
	if err := st.CloseSend(); err != nil {
		return err
	}
	var reply []byte
	if err := st.RecvMsg(&reply); err != nil {
		return err
	}
	if axon {
		ok, err := boolField(reply, 1)
		if err != nil {
			return fmt.Errorf("bad Confirmation: %v", err)
		}
		if !ok {
			return fmt.Errorf("Confirmation.success is false")
		}
	}
	return nil
}

type clientResult struct {
	txs, events, errors int64
	lat                 []time.Duration
	firstErr            string
}

// runAppend: `append` against a node, or `raw-write` against raw_server.py with
// the same messages and stream shape (the ceiling). Each client has its own
// connection and appends to its own aggregates, sequence numbers from 0.
func runAppend(o options, method string, axon bool) error {
	runID := newRunID()
	conns := make([]*grpc.ClientConn, o.clients)
	addrs := targets(o)
	for i := range conns {
		cc, err := dialTarget(addrs[i%len(addrs)])
		if err != nil {
			return err
		}
		defer cc.Close()
		conns[i] = cc
	}
	start := time.Now()
	measureFrom := start.Add(time.Duration(o.warmup * float64(time.Second)))
	measureTo := measureFrom.Add(time.Duration(o.seconds * float64(time.Second)))
	var txBudget atomic.Int64
	txBudget.Store(int64(o.txCount))
	results := make([]clientResult, o.clients)
	var cpu0 float64
	var cpuOnce sync.Once
	var wg sync.WaitGroup
	for c := 0; c < o.clients; c++ {
		wg.Add(1)
		go func(c int) {
			defer wg.Done()
			r := &results[c]
			ctx := withContext(context.Background(), o)
			enc := newEventEncoder(runID, c, o.payload)
			aggN := 0
			aggID := ""
			var seq int64
			newAggregate := func() {
				aggN++
				aggID = fmt.Sprintf("bench-%s-%04d-%06d", runID, c, aggN)
				seq = 0
			}
			newAggregate()
			events := make([][]byte, o.perTx)
			for {
				if seq >= int64(o.aggEvents) {
					newAggregate()
				}
				for i := range events {
					events[i] = append(events[i][:0], enc.encode(aggID, seq+int64(i))...)
				}
				t0 := time.Now()
				if !t0.Before(measureTo) {
					return
				}
				if o.txCount > 0 && !t0.Before(measureFrom) && txBudget.Add(-1) < 0 {
					return
				}
				err := sendTx(ctx, conns[c], method, events, axon)
				t1 := time.Now()
				if err != nil {
					r.errors++
					if r.firstErr == "" {
						r.firstErr = err.Error()
					}
					newAggregate() // our sequence may be out of step now
					if r.errors > 100 {
						return
					}
					continue
				}
				seq += int64(o.perTx)
				if t0.Before(measureFrom) {
					continue
				}
				cpuOnce.Do(func() { cpu0 = cpuSeconds() })
				if t1.After(measureTo) && o.txCount == 0 {
					return
				}
				r.txs++
				r.events += int64(o.perTx)
				r.lat = append(r.lat, t1.Sub(t0))
			}
		}(c)
	}
	wg.Wait()
	end := time.Now()
	elapsed := measureTo.Sub(measureFrom).Seconds()
	if o.txCount > 0 {
		elapsed = end.Sub(measureFrom).Seconds()
	}
	var txs, events, errs int64
	var lat []time.Duration
	firstErr := ""
	for _, r := range results {
		txs += r.txs
		events += r.events
		errs += r.errors
		lat = append(lat, r.lat...)
		if firstErr == "" {
			firstErr = r.firstErr
		}
	}
	out := map[string]any{
		"mode": o.mode, "label": o.label, "clients": o.clients, "events_per_tx": o.perTx,
		"payload_bytes": o.payload, "seconds": elapsed, "txs": txs, "events": events, "errors": errs,
		"events_per_s": float64(events) / elapsed, "tx_per_s": float64(txs) / elapsed,
		"client_cpu_s": cpuSeconds() - cpu0,
	}
	if firstErr != "" {
		out["first_error"] = firstErr
	}
	for k, v := range latencyStats(lat) {
		out[k] = v
	}
	emit(out)
	if txs == 0 && errs > 0 {
		return fmt.Errorf("every transaction failed: %s", firstErr)
	}
	return nil
}

// runFill appends -events events spread evenly over -aggregates aggregates,
// -events-per-tx per transaction, from -clients clients, as fast as the node
// takes them. Client c owns the aggregates a with a % clients == c and writes
// each one's events in order, so sequence numbers are consecutive across
// transactions. Progress lines let the driver sample the node's memory.
func runFill(o options) error {
	runID := newRunID()
	if o.aggregates <= 0 || o.events < o.aggregates {
		return fmt.Errorf("fill needs 0 < -aggregates <= -events")
	}
	var done atomic.Int64
	var firstErr atomic.Value
	ctx, cancel := context.WithCancel(withContext(context.Background(), o))
	defer cancel()
	base, extra := o.events/o.aggregates, o.events%o.aggregates
	start := time.Now()
	cpu0 := cpuSeconds()
	stopProgress := make(chan struct{})
	go func() {
		t := time.NewTicker(time.Duration(o.progress * float64(time.Second)))
		defer t.Stop()
		for {
			select {
			case <-stopProgress:
				return
			case <-t.C:
				n := done.Load()
				el := time.Since(start).Seconds()
				emit(map[string]any{"mode": "fill-progress", "label": o.label, "events": n,
					"seconds": el, "events_per_s": float64(n) / el})
			}
		}
	}()
	var wg sync.WaitGroup
	var txs atomic.Int64
	var latMu sync.Mutex
	var lat []time.Duration
	for c := 0; c < o.clients; c++ {
		wg.Add(1)
		go func(c int) {
			defer wg.Done()
			cc, err := dial(o)
			if err != nil {
				firstErr.CompareAndSwap(nil, err.Error())
				cancel()
				return
			}
			defer cc.Close()
			enc := newEventEncoder(runID, c, o.payload)
			batch := make([][]byte, 0, o.perTx)
			var myLat []time.Duration
			flush := func() bool {
				if len(batch) == 0 {
					return true
				}
				t0 := time.Now()
				if err := sendTx(ctx, cc, eventStore+"AppendEvent", batch, true); err != nil {
					firstErr.CompareAndSwap(nil, err.Error())
					cancel()
					return false
				}
				myLat = append(myLat, time.Since(t0))
				txs.Add(1)
				done.Add(int64(len(batch)))
				batch = batch[:0]
				return true
			}
			for a := c; a < o.aggregates; a += o.clients {
				n := base
				if a < extra {
					n++
				}
				aggID := fmt.Sprintf("fill-%s-%07d", runID, a)
				for s := 0; s < n; s++ {
					k := len(batch)
					batch = batch[:k+1] // reuses the slot's buffer from earlier transactions
					batch[k] = append(batch[k][:0], enc.encode(aggID, int64(s))...)
					if len(batch) == o.perTx && !flush() {
						return
					}
				}
			}
			flush()
			latMu.Lock()
			lat = append(lat, myLat...)
			latMu.Unlock()
		}(c)
	}
	wg.Wait()
	close(stopProgress)
	elapsed := time.Since(start).Seconds()
	n := done.Load()
	out := map[string]any{"mode": "fill", "label": o.label, "clients": o.clients, "events_per_tx": o.perTx,
		"aggregates": o.aggregates, "payload_bytes": o.payload, "events": n, "txs": txs.Load(),
		"seconds": elapsed, "events_per_s": float64(n) / elapsed, "client_cpu_s": cpuSeconds() - cpu0}
	for k, v := range latencyStats(lat) {
		out[k] = v
	}
	if e := firstErr.Load(); e != nil {
		out["first_error"] = e
		emit(out)
		fmt.Fprintln(os.Stderr, "loadgen: fill stopped:", e)
		return fmt.Errorf("fill failed after %d events: %v", n, e)
	}
	emit(out)
	return nil
}
