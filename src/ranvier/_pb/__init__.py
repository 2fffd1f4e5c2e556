"""Generated protobuf and gRPC code for Axon Server's client API and Ranvier's
own node-to-node protocol.

Do not edit the *_pb2*.py files: run ``make proto`` (scripts/gen_proto.py).
The sources are proto/axonserver/*.proto and proto/ranvier/*.proto.

All descriptors live in POOL, a private pool, so these modules can share a
process with other code (e.g. axonclient) that defines the same names.
"""

from google.protobuf import descriptor_pool as _descriptor_pool
from google.protobuf import empty_pb2 as _empty_pb2

POOL = _descriptor_pool.DescriptorPool()

# Well-known types our files import must be in the private pool as well.
POOL.AddSerializedFile(_empty_pb2.DESCRIPTOR.serialized_pb)
