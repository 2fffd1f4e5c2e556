package main

// Hand-encoded Axon protobuf messages (no protoc): Event, GetEventsRequest,
// GetAggregateEventsRequest, and the two fields we read back from replies.

import (
	"fmt"
	"time"

	"google.golang.org/protobuf/encoding/protowire"
)

const (
	payloadType = "io.ranvier.bench.BenchPayload"
	aggType     = "BenchAggregate"
)

// eventEncoder builds Axon Event messages with a fixed-size payload; the buffer
// is reused between calls, so callers must copy (or send) before the next call.
type eventEncoder struct {
	payload []byte
	buf     []byte
	sub     []byte
	counter uint64
	prefix  string // 24 hex chars, unique per client and run
}

func newEventEncoder(runID string, client int, payloadSize int) *eventEncoder {
	p := make([]byte, payloadSize)
	for i := range p {
		p[i] = byte('a' + i%26)
	}
	return &eventEncoder{payload: p, prefix: fmt.Sprintf("%8.8s-%04x-%04x-", runID, client&0xffff, (client>>16)&0xffff)}
}

// encode returns an Event for aggregate aggID at sequence seq. The message
// identifier is shaped like a UUID (36 chars), as Axon clients send.
func (e *eventEncoder) encode(aggID string, seq int64) []byte {
	e.counter++
	msgID := fmt.Sprintf("%s%04x-%012x", e.prefix, (e.counter>>48)&0xffff, e.counter&0xffffffffffff)
	e.sub = e.sub[:0]
	e.sub = protowire.AppendTag(e.sub, 1, protowire.BytesType)
	e.sub = protowire.AppendString(e.sub, payloadType)
	e.sub = protowire.AppendTag(e.sub, 2, protowire.BytesType)
	e.sub = protowire.AppendString(e.sub, "1")
	e.sub = protowire.AppendTag(e.sub, 3, protowire.BytesType)
	e.sub = protowire.AppendBytes(e.sub, e.payload)

	b := e.buf[:0]
	b = protowire.AppendTag(b, 1, protowire.BytesType)
	b = protowire.AppendString(b, msgID)
	b = protowire.AppendTag(b, 2, protowire.BytesType)
	b = protowire.AppendString(b, aggID)
	if seq != 0 {
		b = protowire.AppendTag(b, 3, protowire.VarintType)
		b = protowire.AppendVarint(b, uint64(seq))
	}
	b = protowire.AppendTag(b, 4, protowire.BytesType)
	b = protowire.AppendString(b, aggType)
	b = protowire.AppendTag(b, 5, protowire.VarintType)
	b = protowire.AppendVarint(b, uint64(time.Now().UnixMilli()))
	b = protowire.AppendTag(b, 6, protowire.BytesType)
	b = protowire.AppendBytes(b, e.sub)
	e.buf = b
	return b
}

// sampleSizes returns the encoded sizes of a typical Event and of the
// EventWithToken a reader receives for it (token in the millions).
func sampleSizes(payloadSize int) (event int, withToken int) {
	enc := newEventEncoder("00000000", 1, payloadSize)
	ev := enc.encode("bench-00000000-0001-000001", 5)
	event = len(ev)
	withToken = protowire.SizeTag(1) + protowire.SizeVarint(5_000_000) +
		protowire.SizeTag(2) + protowire.SizeBytes(event)
	return
}

func encodeGetEventsRequest(token, permits int64, clientID string) []byte {
	var b []byte
	if token != 0 {
		b = protowire.AppendTag(b, 1, protowire.VarintType)
		b = protowire.AppendVarint(b, uint64(token))
	}
	b = protowire.AppendTag(b, 2, protowire.VarintType)
	b = protowire.AppendVarint(b, uint64(permits))
	if clientID != "" {
		b = protowire.AppendTag(b, 3, protowire.BytesType)
		b = protowire.AppendString(b, clientID)
		b = protowire.AppendTag(b, 4, protowire.BytesType)
		b = protowire.AppendString(b, "ranvier-bench")
		b = protowire.AppendTag(b, 5, protowire.BytesType)
		b = protowire.AppendString(b, "bench-replay")
	}
	return b
}

func encodePermits(permits int64) []byte {
	b := protowire.AppendTag(nil, 2, protowire.VarintType)
	return protowire.AppendVarint(b, uint64(permits))
}

func encodeGetAggregateEventsRequest(aggID string, initial int64) []byte {
	b := protowire.AppendTag(nil, 1, protowire.BytesType)
	b = protowire.AppendString(b, aggID)
	if initial != 0 {
		b = protowire.AppendTag(b, 2, protowire.VarintType)
		b = protowire.AppendVarint(b, uint64(initial))
	}
	return b
}

// varintField returns the value of the first varint field `num` at the top
// level of a message (0 when absent), e.g. EventWithToken.token, TrackingToken.token.
func varintField(msg []byte, num protowire.Number) (int64, error) {
	for len(msg) > 0 {
		n, typ, l := protowire.ConsumeTag(msg)
		if l < 0 {
			return 0, protowire.ParseError(l)
		}
		msg = msg[l:]
		if n == num && typ == protowire.VarintType {
			v, l := protowire.ConsumeVarint(msg)
			if l < 0 {
				return 0, protowire.ParseError(l)
			}
			return int64(v), nil
		}
		l = protowire.ConsumeFieldValue(n, typ, msg)
		if l < 0 {
			return 0, protowire.ParseError(l)
		}
		msg = msg[l:]
	}
	return 0, nil
}

// boolField: Confirmation.success.
func boolField(msg []byte, num protowire.Number) (bool, error) {
	v, err := varintField(msg, num)
	return v != 0, err
}
