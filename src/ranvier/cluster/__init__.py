"""Clustering: the node-to-node transport on the internal port, and the cluster's
own services built on the replication runtime (`ranvier.replication`)."""
