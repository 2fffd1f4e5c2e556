"""ranvier.config: Spring's sources and precedence, relaxed names, value forms, errors."""

from __future__ import annotations

from pathlib import Path

import pytest

from ranvier.config import Config, describe_sources, load
from ranvier.config.sources import read_properties, read_yaml
from ranvier.config.values import parse_duration_ms, parse_size
from ranvier.errors import ConfigError

P = "axoniq.axonserver."


def make(
    cwd: Path,
    argv: list[str] | None = None,
    environ: dict[str, str] | None = None,
    host: str = "box",
) -> Config:
    return load(argv or [], environ or {}, cwd, system_hostname=host)


def write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)


# -- defaults ---------------------------------------------------------------------------------


def test_defaults_are_axon_servers(tmp_path: Path) -> None:
    config = make(tmp_path)
    node = config.node
    assert (node.name, node.hostname, node.domain) == ("box", "box", "")
    assert (node.internal_hostname, node.internal_domain) == ("box", "")
    assert (node.port, node.internal_port, node.http_port) == (8124, 8224, 8024)
    assert node.standalone is False and node.devmode is False
    assert node.max_message_size == 4 * 1024 * 1024
    assert config.storage.event_storage == tmp_path / "data"
    assert config.storage.snapshot_storage == tmp_path / "data"
    assert config.storage.segment_size == 256 * 1024 * 1024
    assert config.storage.max_transaction_size == 32 * 1024 * 1024
    assert config.storage.max_indexes_in_memory == 50
    assert config.event_stream.new_permits_timeout_ms == 120_000
    assert config.event_stream.blacklisted_send_after == 1000
    assert config.cluster.log_storage_folder == tmp_path / "log"
    assert config.cluster.wait_for_leader_timeout_ms == 2 * config.cluster.max_election_timeout_ms
    assert config.heartbeat.enabled is False and config.heartbeat.client_heartbeat_timeout_ms == 5000
    assert config.access_control.enabled is False and config.access_control.token is None
    assert config.ssl.enabled is False and config.ssl.cert_chain_file is None
    assert config.properties[P + "port"].source == "default"
    assert config.sources == ("environment", "default")


def test_hostname_defaults_to_the_system_hostname(tmp_path: Path) -> None:
    config = load([], {}, tmp_path)
    assert config.node.hostname and config.node.name == config.node.hostname


# -- hostname and domain ------------------------------------------------------------------


def test_fqdn_system_hostname_is_split_into_host_and_domain(tmp_path: Path) -> None:
    node = make(tmp_path, host="node1.prod.example.com").node
    assert (node.name, node.hostname, node.domain) == ("node1", "node1", "prod.example.com")
    assert (node.internal_hostname, node.internal_domain) == ("node1", "prod.example.com")
    assert node.client_address == "node1.prod.example.com"


def test_configured_fqdn_hostname_is_split_unless_domain_is_set(tmp_path: Path) -> None:
    node = make(tmp_path, [f"--{P}hostname=a.b.c"]).node
    assert (node.hostname, node.domain) == ("a", "b.c")
    node = make(tmp_path, [f"--{P}hostname=a.b.c", f"--{P}domain=x.y"]).node
    assert (node.hostname, node.domain, node.client_address) == ("a.b.c", "x.y", "a.b.c.x.y")


def test_ip_address_hostname_is_not_split(tmp_path: Path) -> None:
    node = make(tmp_path, [f"--{P}hostname=127.0.0.1"]).node
    assert (node.hostname, node.domain, node.client_address) == ("127.0.0.1", "", "127.0.0.1")


def test_blank_name_means_the_default(tmp_path: Path) -> None:
    assert make(tmp_path, [f"--{P}name="]).node.name == "box"


def test_internal_names_default_to_client_names_and_can_be_set(tmp_path: Path) -> None:
    node = make(tmp_path, [f"--{P}domain=ex.com", f"--{P}internal-hostname=peer1"]).node
    assert (node.internal_hostname, node.internal_domain, node.internal_address) == ("peer1", "ex.com", "peer1.ex.com")
    node = make(tmp_path, [f"--{P}internal-domain=int.local"]).node
    assert node.internal_address == "box.int.local"


# -- precedence -------------------------------------------------------------------------------


def test_precedence_cli_over_env_over_config_dir_over_working_dir(tmp_path: Path) -> None:
    write(tmp_path / "axonserver.properties", f"{P}port=1001\n{P}internal-port=2001\nserver.port=3001\n{P}name=wd\n")
    write(tmp_path / "config/axonserver.properties", f"{P}port=1002\n{P}internal-port=2002\nserver.port=3002\n")
    env = {"AXONIQ_AXONSERVER_PORT": "1003", "SERVER_PORT": "3003"}
    config = make(tmp_path, [f"--{P}port=1004"], env)
    node = config.node
    assert (node.port, node.http_port, node.internal_port, node.name) == (1004, 3003, 2002, "wd")
    assert config.properties[P + "port"].source == f"command-line argument --{P}port"
    assert config.properties["server.port"].source == "environment variable SERVER_PORT"
    assert config.properties[P + "internal-port"].source == "file config/axonserver.properties"
    assert config.properties[P + "name"].source == "file axonserver.properties"
    assert config.sources == (
        "command line", "environment", "file config/axonserver.properties", "file axonserver.properties", "default",
    )


def test_properties_beat_yml_in_the_same_directory(tmp_path: Path) -> None:
    write(tmp_path / "axonserver.yml", "axoniq:\n  axonserver:\n    port: 1001\n    name: from-yml\n")
    write(tmp_path / "axonserver.properties", f"{P}port=1002\n")
    node = make(tmp_path).node
    assert (node.port, node.name) == (1002, "from-yml")


def test_config_dir_yml_beats_working_dir_properties(tmp_path: Path) -> None:
    write(tmp_path / "axonserver.properties", f"{P}port=1001\n")
    write(tmp_path / "config/axonserver.yml", f"{P}port: 1002\n")
    assert make(tmp_path).node.port == 1002


def test_dash_d_form_on_the_command_line(tmp_path: Path) -> None:
    assert make(tmp_path, [f"-D{P}port=1005"]).node.port == 1005


@pytest.mark.parametrize("arg", ["--axoniq.axonserver.port", "8125", "--axoniq.axonserver.port 8125", "--=x", "-x"])
def test_malformed_command_line_arguments_are_refused(tmp_path: Path, arg: str) -> None:
    with pytest.raises(ConfigError, match="--property=value"):
        make(tmp_path, [arg])


# -- names --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "env_name",
    [
        "AXONIQ_AXONSERVER_INTERNALHOSTNAME",
        "AXONIQ_AXONSERVER_INTERNAL_HOSTNAME",
        "axoniq.axonserver.internal-hostname",
        "axoniq_axonserver_internal_hostname",
    ],
)
def test_environment_relaxed_names(tmp_path: Path, env_name: str) -> None:
    assert make(tmp_path, environ={env_name: "peer"}).node.internal_hostname == "peer"


def test_environment_names_for_nested_properties(tmp_path: Path) -> None:
    env = {
        "AXONIQ_AXONSERVER_EVENT_STORAGE": "/srv/events",
        "AXONIQ_AXONSERVER_EVENT_SEGMENT_SIZE": "1MB",
        "axoniq.axonserver.standalone": "true",
        "AXONIQ_AXONSERVER_DEVMODE_ENABLED": "TRUE",
        "AXONIQ_AXONSERVER_ACCESSCONTROL_ADMIN_TOKEN": "secret",
        "AXONIQ_AXONSERVER_TAGS_REGION": "eu-west",
        "PATH": "/usr/bin",
        "AXONIQ_AXONSERVER_NOT_A_PROPERTY": "x",
    }
    config = make(tmp_path, environ=env)
    assert config.storage.event_storage == Path("/srv/events")
    assert config.storage.segment_size == 1024 * 1024
    assert config.node.standalone and config.node.devmode
    assert config.access_control.admin_token == "secret"
    assert dict(config.node.tags) == {"region": "eu-west"}
    assert "axoniq.axonserver.not.a.property" in config.raw
    assert not any("path" in key for key in config.raw)


def test_exact_dotted_environment_name_beats_upper_case_form(tmp_path: Path) -> None:
    env = {"AXONIQ_AXONSERVER_PORT": "1001", "axoniq.axonserver.port": "1002"}
    assert make(tmp_path, environ=env).node.port == 1002


def test_file_keys_use_relaxed_binding(tmp_path: Path) -> None:
    write(tmp_path / "axonserver.properties", f"{P}internalHostname=peer\n{P}event.segment_size=512KB\n")
    config = make(tmp_path)
    assert config.node.internal_hostname == "peer"
    assert config.storage.segment_size == 512 * 1024


def test_unknown_file_properties_are_kept_raw_not_refused(tmp_path: Path) -> None:
    write(tmp_path / "axonserver.properties", "logging.level.root=INFO\naxoniq.axonserver.nonsense=1\n")
    config = make(tmp_path, [f"--{P}also-unknown=2"])
    assert config.raw["logging.level.root"].value == "INFO"
    assert config.raw[P + "nonsense"].source == "file axonserver.properties"
    assert config.raw[P + "also-unknown"].value == "2"


# -- file formats -------------------------------------------------------------------------------


def test_yml_nested_flat_and_mixed_keys(tmp_path: Path) -> None:
    write(
        tmp_path / "axonserver.yml",
        "axoniq:\n"
        "  axonserver:\n"
        "    name: n1\n"
        "    event.storage: ./events\n"
        "    snapshot:\n"
        "      storage: ./snaps\n"
        "    autocluster:\n"
        "      contexts: [default, billing]\n"
        "    tags:\n"
        "      zone: a\n"
        "server.port: 8025\n",
    )
    config = make(tmp_path)
    assert config.node.name == "n1" and config.node.http_port == 8025
    assert config.storage.event_storage == tmp_path / "events"
    assert config.storage.snapshot_storage == tmp_path / "snaps"
    assert config.cluster.autocluster_contexts == ("default", "billing")
    assert dict(config.node.tags) == {"zone": "a"}


def test_yml_yes_and_on_are_booleans(tmp_path: Path) -> None:
    write(tmp_path / "axonserver.yml", f"{P}standalone: yes\n")
    assert make(tmp_path).node.standalone is True


def test_yml_profile_documents_are_skipped_and_later_documents_override(tmp_path: Path) -> None:
    text = f"{P}port: 1001\n---\n{P}port: 1002\n---\nspring.config.activate.on-profile: x\n{P}port: 1003\n"
    assert read_yaml(text, "t") == [(P + "port", "1001"), (P + "port", "1002")]
    write(tmp_path / "axonserver.yml", text)
    assert make(tmp_path).node.port == 1002


def test_bad_yml_names_the_file(tmp_path: Path) -> None:
    write(tmp_path / "config/axonserver.yml", "a: [unclosed\n")
    with pytest.raises(ConfigError, match="config/axonserver.yml"):
        make(tmp_path)


def test_properties_file_syntax() -> None:
    text = (
        "# comment\n! also a comment\n"
        "a=1\n"
        "b : 2\n"
        "c 3\n"
        "  d=with spaces  \n"
        "e=one \\\n    two\n"
        "f\\=g=h\n"
        "u=\\u00e9\\t\n"
        "empty=\n"
    )
    assert read_properties(text) == [
        ("a", "1"), ("b", "2"), ("c", "3"), ("d", "with spaces  "), ("e", "one two"),
        ("f=g", "h"), ("u", "é\t"), ("empty", ""),
    ]


def test_indexed_list_in_properties(tmp_path: Path) -> None:
    write(tmp_path / "axonserver.properties", f"{P}autocluster.contexts[1]=b\n{P}autocluster.contexts[0]=a\n")
    assert make(tmp_path).cluster.autocluster_contexts == ("a", "b")


def test_placeholders_resolve_against_properties_and_environment(tmp_path: Path) -> None:
    write(tmp_path / "axonserver.properties", f"{P}event.storage=${{BASE}}/events\n{P}name=${{{P}hostname}}-x\n"
          f"{P}snapshot.storage=${{MISSING:/fallback}}\n")
    config = make(tmp_path, [f"--{P}hostname=h"], {"BASE": "/srv"})
    assert config.storage.event_storage == Path("/srv/events")
    assert config.node.name == "h-x"
    assert config.storage.snapshot_storage == Path("/fallback")


def test_unresolvable_placeholder_names_the_property(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"axoniq\.axonserver\.event\.storage"):
        make(tmp_path, [f"--{P}event.storage=${{NOPE}}"])


def test_circular_placeholders_are_refused(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="Circular placeholder"):
        make(tmp_path, [f"--{P}name=${{{P}domain}}", f"--{P}domain=${{{P}name}}"])


# -- values ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "millis"),
    [("1500", 1500), ("250ms", 250), ("5s", 5000), ("2m", 120_000), ("1h", 3_600_000), ("1d", 86_400_000),
     ("PT30S", 30_000), ("PT1M0.5S", 60_500), ("P1D", 86_400_000), (" 7S ", 7000), ("1500us", 1)],
)
def test_durations(text: str, millis: int) -> None:
    assert parse_duration_ms(text) == millis


def test_duration_default_unit() -> None:
    assert parse_duration_ms("30", default_unit="s") == 30_000


@pytest.mark.parametrize("text", ["", "abc", "5 parsecs", "1.5s", "PT", "-5"])
def test_bad_durations(text: str) -> None:
    with pytest.raises(ValueError):
        parse_duration_ms(text)


@pytest.mark.parametrize(
    ("text", "size"),
    [("1024", 1024), ("10B", 10), ("512KB", 512 * 1024), ("256MB", 256 << 20), ("1gb", 1 << 30),
     ("2GiB", 2 << 30), ("16M", 16 << 20)],
)
def test_sizes(text: str, size: int) -> None:
    assert parse_size(text) == size


@pytest.mark.parametrize("text", ["", "MB", "1.5MB", "12XB", "-1"])
def test_bad_sizes(text: str) -> None:
    with pytest.raises(ValueError):
        parse_size(text)


def test_durations_and_sizes_through_load(tmp_path: Path) -> None:
    argv = [f"--{P}new-permits-timeout=2m", f"--{P}max-message-size=8MB", f"--{P}event.max-transaction-size=1MB",
            f"--{P}replication.min-election-timeout=PT2S", f"--{P}replication.max-election-timeout=3s"]
    config = make(tmp_path, argv)
    assert config.event_stream.new_permits_timeout_ms == 120_000
    assert config.node.max_message_size == 8 << 20
    assert config.storage.max_transaction_size == 1 << 20
    assert (config.cluster.min_election_timeout_ms, config.cluster.max_election_timeout_ms) == (2000, 3000)


# -- errors name the property -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("arg", "expected"),
    [
        (f"{P}port=abc", "Invalid value 'abc' for property axoniq.axonserver.port: expected an integer port 1-65535"),
        (f"{P}port=0", "axoniq.axonserver.port: expected an integer port 1-65535"),
        (f"{P}internal-port=70000", "axoniq.axonserver.internal-port: expected an integer port"),
        ("server.port=-1", "server.port: expected an integer port"),
        (f"{P}standalone=maybe", "axoniq.axonserver.standalone: expected true or false"),
        (f"{P}event.segment-size=1KB", "axoniq.axonserver.event.segment-size: expected a size of at least 65536"),
        (f"{P}event.segment-size=lots", "axoniq.axonserver.event.segment-size: expected a size such as"),
        (f"{P}new-permits-timeout=soon", "axoniq.axonserver.new-permits-timeout: expected a duration"),
        (f"{P}autocluster.contexts=default,9bad", "axoniq.axonserver.autocluster.contexts: expected context names"),
        (f"{P}domain=a b", "axoniq.axonserver.domain: expected a name without spaces"),
        (f"{P}hostname=two words", "axoniq.axonserver.hostname: expected a name without spaces"),
        (f"{P}ssl.trust-manager-verification=none", "ssl.trust-manager-verification: expected one of"),
        (f"{P}event.storage=", "axoniq.axonserver.event.storage: expected a non-empty value"),
    ],
)
def test_bad_values_name_the_property(tmp_path: Path, arg: str, expected: str) -> None:
    with pytest.raises(ConfigError) as caught:
        make(tmp_path, [f"--{arg}"])
    assert expected in str(caught.value)
    assert "(from command-line argument" in str(caught.value)


def test_bad_value_from_environment_names_the_variable(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="axoniq.axonserver.port.*environment variable AXONIQ_AXONSERVER_PORT"):
        make(tmp_path, environ={"AXONIQ_AXONSERVER_PORT": "eighty"})


def test_bad_value_from_file_names_the_file(tmp_path: Path) -> None:
    write(tmp_path / "config/axonserver.yml", "server:\n  port: http\n")
    with pytest.raises(ConfigError, match=r"server\.port.*file config/axonserver\.yml"):
        make(tmp_path)


def test_autocluster_contexts_accept_admin(tmp_path: Path) -> None:
    config = make(tmp_path, [f"--{P}autocluster.contexts=_admin, default", f"--{P}autocluster.first=n1:8224"])
    assert config.cluster.autocluster_contexts == ("_admin", "default")
    assert config.cluster.autocluster_first == "n1:8224"


def test_ports_must_differ(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="property server.port: expected a port different from axoniq.axonserver.port"):
        make(tmp_path, ["--server.port=8124"])


def test_election_timeouts_must_be_ordered(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="replication.min-election-timeout"):
        make(tmp_path, [f"--{P}replication.min-election-timeout=5s"])
    with pytest.raises(ConfigError, match="replication.heartbeat-timeout"):
        make(tmp_path, [f"--{P}replication.heartbeat-timeout=1s"])


def test_ssl_needs_existing_files(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="Missing property axoniq.axonserver.ssl.cert-chain-file"):
        make(tmp_path, [f"--{P}ssl.enabled=true"])
    write(tmp_path / "cert.pem", "x")
    with pytest.raises(ConfigError, match="ssl.private-key-file: expected the path of a readable PEM file"):
        make(tmp_path, [f"--{P}ssl.enabled=true", f"--{P}ssl.cert-chain-file=cert.pem", f"--{P}ssl.private-key-file=k"])
    write(tmp_path / "key.pem", "x")
    ssl = make(tmp_path, [f"--{P}ssl.enabled=true", f"--{P}ssl.cert-chain-file=cert.pem",
                          f"--{P}ssl.private-key-file=key.pem"]).ssl
    assert ssl.internal_cert_chain_file == tmp_path / "cert.pem"
    assert ssl.internal_private_key_file == tmp_path / "key.pem"


# -- describing -----------------------------------------------------------------------------------


def test_describe_sources_masks_tokens(tmp_path: Path) -> None:
    config = make(tmp_path, [f"--{P}accesscontrol.token=s3cret", f"--{P}port=1234", "--x.y=z"])
    text = describe_sources(config)
    assert "s3cret" not in text and f"{P}accesscontrol.token = ******" in text
    assert f"{P}port = 1234  (command-line argument --{P}port)" in text
    assert "x.y = z" in text and "not used" in text
    assert "\nserver.port" not in text
    assert "server.port = 8024  (default)" in describe_sources(config, include_defaults=True)


def test_config_is_frozen(tmp_path: Path) -> None:
    config = make(tmp_path)
    with pytest.raises(AttributeError):
        config.node.port = 1  # type: ignore[misc]
    with pytest.raises(TypeError):
        config.node.tags["x"] = "y"  # type: ignore[index]
