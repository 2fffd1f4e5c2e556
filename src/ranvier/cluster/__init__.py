"""Clustering: the `_admin` configuration, the node's Raft groups, and the peer
transport on the internal port."""
