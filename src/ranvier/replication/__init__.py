"""The asyncio runtime around the pure Raft core: durable logs, the per-group driver
(persist, then send, then apply), and the transport between nodes.

It drives `ranvier.raft` and feeds committed entries to a state machine (a context's
`ContextStore`); the state machine never imports this package.
"""
