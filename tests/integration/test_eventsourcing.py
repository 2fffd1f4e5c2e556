"""The `eventsourcing` library's own contract tests, through `eventsourcing-axonserver`.

These are the recorder and application test cases that `eventsourcing` ships, run
against a real Ranvier node the way the `eventsourcing-axonserver` project runs them
against Axon Server (its tests/test_recorders.py and tests/test_application.py).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import ClassVar

import pytest
from axonclient.client import AxonClient
from eventsourcing.domain import Aggregate
from eventsourcing.persistence import AggregateRecorder, ApplicationRecorder
from eventsourcing.tests.application import ExampleApplicationTestCase
from eventsourcing.tests.persistence import AggregateRecorderTestCase, ApplicationRecorderTestCase
from eventsourcing_axonserver.recorders import AxonServerAggregateRecorder, AxonServerApplicationRecorder

from ranvier.testing.nodes import NodeProcess


# eventsourcing numbers notifications from 1 and expects max_notification_id() to be
# None on an empty store; eventsourcing-axonserver 0.2 passes Axon's 0-based tokens
# through unchanged (GetLastToken is -1 when empty, as Axon Server answers). These two
# contract tests therefore fail against Axon Server as well; strict xfail tells us if
# that ever changes. Everything else in them (conflicts, atomicity, ordering) passes.
_ONE_BASED_IDS = (
    "client mismatch, not a server fault: eventsourcing expects 1-based notification ids and "
    "None from max_notification_id() on an empty store; eventsourcing-axonserver 0.2 maps "
    "Axon's 0-based tokens (GetLastToken=-1) directly"
)


class _NodeMixin:
    address: ClassVar[str]
    _node: ClassVar[NodeProcess]


def _serve(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    node = NodeProcess(tmp_path_factory.mktemp("es"))
    node.start()
    request.cls.address = node.grpc_address
    request.cls._node = node
    yield
    node.stop()


@pytest.fixture(scope="class")
def class_node(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """One node for the whole class: the aggregate recorder tests use fresh ids."""
    yield from _serve(request, tmp_path_factory)


@pytest.fixture
def empty_node(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """A node per test: the application recorder tests count every notification."""
    yield from _serve(request, tmp_path_factory)


@pytest.mark.usefixtures("class_node")
class TestAggregateRecorder(_NodeMixin, AggregateRecorderTestCase):
    INITIAL_VERSION = 0

    def setUp(self) -> None:
        self.client = AxonClient(self.address)

    def tearDown(self) -> None:
        self.client.close_connection()

    def create_recorder(self) -> AggregateRecorder:
        return AxonServerAggregateRecorder(axon_client=self.client)


@pytest.mark.usefixtures("empty_node")
class TestApplicationRecorder(_NodeMixin, ApplicationRecorderTestCase):
    INITIAL_VERSION = 0

    def setUp(self) -> None:
        self.client = AxonClient(self.address)

    def tearDown(self) -> None:
        self.client.close_connection()

    def create_recorder(self) -> ApplicationRecorder:
        return AxonServerApplicationRecorder(axon_client=self.client)

    @pytest.mark.xfail(strict=True, reason=_ONE_BASED_IDS)
    def test_insert_select(self) -> None:
        super().test_insert_select()


@pytest.mark.usefixtures("empty_node")
class TestExampleApplication(_NodeMixin, ExampleApplicationTestCase):
    expected_factory_topic = "eventsourcing_axonserver.factory:Factory"

    def setUp(self) -> None:
        self.original_initial_version = Aggregate.INITIAL_VERSION
        Aggregate.INITIAL_VERSION = 0
        super().setUp()
        self._env = pytest.MonkeyPatch()
        self._env.setenv("PERSISTENCE_MODULE", "eventsourcing_axonserver")
        self._env.setenv("AXONSERVER_URI", self.address)

    def tearDown(self) -> None:
        Aggregate.INITIAL_VERSION = self.original_initial_version
        self._env.undo()
        super().tearDown()

    @pytest.mark.xfail(strict=True, reason=_ONE_BASED_IDS)
    def test_example_application(self) -> None:
        super().test_example_application()


del AggregateRecorderTestCase, ApplicationRecorderTestCase, ExampleApplicationTestCase
