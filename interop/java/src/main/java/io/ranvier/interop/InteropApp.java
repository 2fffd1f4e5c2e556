package io.ranvier.interop;

import io.ranvier.interop.Messages.Audit;
import io.ranvier.interop.Messages.AuditResult;
import io.ranvier.interop.Messages.AccountView;
import io.ranvier.interop.Messages.CloseAccount;
import io.ranvier.interop.Messages.CreateAccount;
import io.ranvier.interop.Messages.Deposit;
import io.ranvier.interop.Messages.FindAccount;
import io.ranvier.interop.Messages.ListAccounts;
import io.ranvier.interop.Messages.Unhandled;
import io.ranvier.interop.Messages.UnhandledQuery;
import io.ranvier.interop.Messages.Withdraw;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;
import java.util.UUID;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.stream.Collectors;
import org.axonframework.axonserver.connector.AxonServerConfiguration;
import org.axonframework.commandhandling.NoHandlerForCommandException;
import org.axonframework.commandhandling.SimpleCommandBus;
import org.axonframework.commandhandling.gateway.CommandGateway;
import org.axonframework.common.transaction.NoTransactionManager;
import org.axonframework.common.transaction.TransactionManager;
import org.axonframework.config.AggregateConfigurer;
import org.axonframework.config.Configuration;
import org.axonframework.config.Configurer;
import org.axonframework.config.DefaultConfigurer;
import org.axonframework.eventhandling.DomainEventMessage;
import org.axonframework.eventhandling.EventTrackerStatus;
import org.axonframework.eventhandling.TrackingEventProcessor;
import org.axonframework.eventhandling.TrackingEventProcessorConfiguration;
import org.axonframework.eventsourcing.EventCountSnapshotTriggerDefinition;
import org.axonframework.eventsourcing.eventstore.EventStore;
import org.axonframework.messaging.responsetypes.ResponseTypes;
import org.axonframework.queryhandling.QueryGateway;
import org.axonframework.queryhandling.SimpleQueryBus;
import org.axonframework.queryhandling.SubscriptionQueryResult;
import org.axonframework.serialization.Serializer;
import org.axonframework.serialization.json.JacksonSerializer;
import reactor.core.publisher.Flux;

/**
 * A plain Axon Framework 4 application that runs one scenario against an Axon Server
 * compatible node (Ranvier) and prints one line per checked outcome:
 *
 * <pre>
 * CHECK name=ok [detail]
 * CHECK name=FAIL detail
 * RESULT passed=N failed=M
 * </pre>
 *
 * The exit status is 0 only when every check passed. The address comes from the first
 * argument or the system property {@code axon.axonserver.servers} (host:port, gRPC). The
 * node's HTTP base URL, second argument or {@code interop.http}, adds the REST checks.
 */
public final class InteropApp {
    static final int SNAPSHOT_THRESHOLD = 3;
    /**
     * {@code -Dinterop.routing=local}: commands and queries are routed inside this JVM
     * (SimpleCommandBus, SimpleQueryBus) and only the event store is the node's. For
     * debugging the event store half on its own; the test runs the default, "server".
     */
    static final boolean LOCAL_ROUTING = "local".equals(System.getProperty("interop.routing", "server"));
    static final Duration WAIT = Duration.ofSeconds(Long.getLong("interop.wait-seconds", 20));

    private final String servers;
    private final String context;
    private final String http; // the node's HTTP base URL, or null: no REST checks
    private final List<String> failures = new ArrayList<>();
    private int passed;

    private InteropApp(String servers, String context, String http) {
        this.servers = servers;
        this.context = context;
        this.http = http == null || http.isBlank() ? null : http.replaceAll("/+$", "");
    }

    public static void main(String[] args) {
        System.setProperty("disable-axoniq-console-message", "true");
        String servers = args.length > 0 ? args[0] : System.getProperty("axon.axonserver.servers", "127.0.0.1:8124");
        String context = System.getProperty("axon.axonserver.context", "default");
        String http = args.length > 1 ? args[1] : System.getProperty("interop.http");
        long limit = Long.getLong("interop.timeout-seconds", 240);
        Thread watchdog = new Thread(() -> {
            try {
                Thread.sleep(TimeUnit.SECONDS.toMillis(limit));
            } catch (InterruptedException e) {
                return;
            }
            line("CHECK watchdog=FAIL scenario still running after " + limit + "s; threads:");
            Thread.getAllStackTraces().forEach((t, stack) -> {
                System.out.println("  thread " + t.getName());
                for (StackTraceElement e : stack) {
                    System.out.println("    at " + e);
                }
            });
            System.out.flush();
            Runtime.getRuntime().halt(3);
        }, "interop-watchdog");
        watchdog.setDaemon(true);
        watchdog.start();

        InteropApp app = new InteropApp(servers, context, http);
        int status;
        try {
            app.run();
            status = app.failures.isEmpty() ? 0 : 1;
        } catch (Throwable t) {
            line("CHECK scenario=FAIL " + describe(t));
            app.failures.add("scenario");
            status = 2;
        }
        line("RESULT passed=" + app.passed + " failed=" + app.failures.size());
        // gRPC and Axon leave non-daemon threads behind when something went wrong
        System.exit(status);
    }

    // ---------------------------------------------------------------- configuration

    static Serializer serializer() {
        return JacksonSerializer.defaultSerializer();
    }

    private Configuration start(String component) throws Exception {
        AxonServerConfiguration server = AxonServerConfiguration.builder()
                .servers(servers)
                .context(context)
                .componentName(component)
                .suppressDownloadMessage()
                .build();
        Configurer configurer = DefaultConfigurer.defaultConfiguration()
                .registerComponent(AxonServerConfiguration.class, c -> server)
                .configureSerializer(c -> serializer())
                // default typing: a List of query results keeps its element type
                .configureMessageSerializer(c -> JacksonSerializer.builder().defaultTyping().build())
                .configureEventSerializer(c -> serializer())
                .configureAggregate(AggregateConfigurer.defaultConfiguration(Account.class)
                        .configureSnapshotTrigger(c -> new EventCountSnapshotTriggerDefinition(
                                c.snapshotter(), SNAPSHOT_THRESHOLD)))
                .registerComponent(Projection.class, c -> new Projection(c.queryUpdateEmitter()))
                .registerQueryHandler(c -> c.getComponent(Projection.class));
        configurer.eventProcessing()
                .registerTrackingEventProcessor(Projection.PROCESSOR, c -> c.eventStore(),
                        c -> TrackingEventProcessorConfiguration.forSingleThreadedProcessing()
                                .andInitialTrackingToken(source -> source.createTailToken()))
                .registerEventHandler(c -> c.getComponent(Projection.class));
        if (LOCAL_ROUTING) {
            // events still go to the node; commands and queries stay in this JVM
            configurer.configureCommandBus(c -> SimpleCommandBus.builder()
                            .transactionManager(c.getComponent(TransactionManager.class, NoTransactionManager::instance))
                            .build())
                    .configureQueryBus(c -> SimpleQueryBus.builder()
                            .queryUpdateEmitter(c.queryUpdateEmitter())
                            .build());
        }
        Configuration configuration = configurer.buildConfiguration();
        configuration.start();
        awaitSubscriptions(configuration);
        return configuration;
    }

    /**
     * Axon subscribes handlers asynchronously (start() does not wait for the node's
     * acknowledgements, with Axon Server either), so a command sent right after start
     * may find no handler yet. Wait until the node routes a command and a query to us:
     * an Audit of an aggregate that does not exist fails in the handler, not with
     * "no handler"; FindAccount of an unknown id answers null.
     */
    private void awaitSubscriptions(Configuration configuration) throws Exception {
        long t0 = System.nanoTime();
        String nobody = "nobody-" + UUID.randomUUID();
        String[] last = {"nothing tried"};
        boolean ready = waitFor(() -> {
            try {
                configuration.commandGateway().send(new Audit(nobody)).get(5, TimeUnit.SECONDS);
            } catch (ExecutionException e) {
                if (e.getCause() instanceof NoHandlerForCommandException) {
                    last[0] = describe(e.getCause());
                    return false;
                }
            }
            try {
                configuration.queryGateway().query(new FindAccount(nobody), ResponseTypes.instanceOf(AccountView.class))
                        .get(5, TimeUnit.SECONDS);
                return true;
            } catch (ExecutionException e) {
                last[0] = describe(e.getCause());
                return false;
            }
        });
        line("INFO handlers " + (ready ? "routed" : "NOT routed (" + last[0] + ")") + " after "
                + (System.nanoTime() - t0) / 1_000_000 + "ms");
    }

    // ---------------------------------------------------------------- scenario

    private void run() throws Exception {
        String run = UUID.randomUUID().toString().substring(0, 8);
        String alice = "alice-" + run;
        String bob = "bob-" + run;
        Set<String> ids = new LinkedHashSet<>(List.of(alice, bob));
        int[] events = {0};
        line("INFO servers=" + servers + " http=" + http + " context=" + context + " run=" + run
                + " routing=" + (LOCAL_ROUTING ? "local" : "server"));

        long t0 = System.nanoTime();
        Configuration config = start(COMPONENT);
        line("INFO started in " + (System.nanoTime() - t0) / 1_000_000 + "ms");
        CommandGateway commands = config.commandGateway();
        QueryGateway queries = config.queryGateway();
        EventStore eventStore = config.eventStore();
        Projection projection = config.getComponent(Projection.class);

        // (1) commands to an event-sourced aggregate, with their results
        check("create_command", () -> {
            Object result = send(commands, new CreateAccount(alice, 100));
            expect(alice.equals(result), "expected the new aggregate's id " + alice + ", got " + result);
            events[0]++;
            return "id=" + result;
        });
        check("update_commands", () -> {
            List<Object> results = new ArrayList<>();
            results.add(send(commands, new Deposit(alice, 50)));
            results.add(send(commands, new Deposit(alice, 25)));
            results.add(send(commands, new Withdraw(alice, 30)));
            events[0] += 3;
            expect(results.equals(List.of(150, 175, 145)), "expected balances [150, 175, 145], got " + results);
            return "balances=" + results;
        });
        check("second_aggregate", () -> {
            Object created = send(commands, new CreateAccount(bob, 10));
            events[0]++;
            Object deposited = send(commands, new Deposit(bob, 5));
            events[0]++;
            expect(bob.equals(created) && Integer.valueOf(15).equals(deposited),
                    "expected " + bob + " then 15, got " + created + " then " + deposited);
            return null;
        });

        // (2) commands that must fail
        check("duplicate_create_fails", () -> {
            Throwable error = sendExpectingFailure(commands, new CreateAccount(alice, 1));
            return "rejected with " + describe(error);
        });
        check("wrong_state_fails", () -> {
            Throwable error = sendExpectingFailure(commands, new Withdraw(alice, 1_000_000));
            expect(chainText(error).contains("insufficient funds"),
                    "the handler's message did not reach the sender: " + describe(error));
            return "rejected with " + describe(error);
        });
        check("command_without_handler_fails", () -> {
            Throwable error = sendExpectingFailure(commands, new Unhandled(alice));
            return "rejected with " + describe(error);
        });

        // (3) events stored and read back: the event store and a fresh aggregate load
        check("events_read_back", () -> {
            List<? extends DomainEventMessage<?>> stored = eventStore.readEvents(alice, 0).asStream()
                    .collect(Collectors.toList());
            List<String> types = stored.stream().map(m -> m.getPayloadType().getSimpleName()).toList();
            List<Long> sequences = stored.stream().map(DomainEventMessage::getSequenceNumber).toList();
            expect(types.equals(List.of("AccountCreated", "Deposited", "Deposited", "Withdrawn")),
                    "unexpected event types " + types);
            expect(sequences.equals(List.of(0L, 1L, 2L, 3L)), "unexpected sequence numbers " + sequences);
            expect(stored.stream().allMatch(m -> alice.equals(m.getAggregateIdentifier())
                            && "Account".equals(m.getType())),
                    "unexpected aggregate id or type in " + stored);
            return "types=" + types;
        });
        check("aggregate_reload", () -> {
            AuditResult audit = (AuditResult) send(commands, new Audit(alice));
            expect(audit.balance() == 145 && audit.events() == 4 && !audit.closed(),
                    "expected balance 145 after 4 events, got " + audit);
            return audit.toString();
        });

        // (7) snapshot: threshold 3 events, then a load that starts from it
        check("snapshot_stored", () -> {
            DomainEventMessage<?>[] first = new DomainEventMessage<?>[1];
            boolean found = waitFor(() -> {
                first[0] = eventStore.readEvents(alice).asStream().findFirst().orElse(null);
                return first[0] != null && first[0].getPayload() instanceof Account;
            });
            expect(found, "no snapshot read back first for " + alice + "; first message: " + first[0]);
            return "snapshot at sequence " + first[0].getSequenceNumber();
        });
        check("load_from_snapshot", () -> {
            Object balance = send(commands, new Deposit(alice, 5));
            events[0]++;
            expect(Integer.valueOf(150).equals(balance), "expected balance 150, got " + balance);
            AuditResult audit = (AuditResult) send(commands, new Audit(alice));
            expect(audit.balance() == 150 && audit.events() == 5,
                    "expected balance 150 after 5 events, got " + audit);
            expect(audit.replayedThisLoad() < audit.events(),
                    "the aggregate replayed all " + audit.events() + " events: no snapshot was used");
            return audit.toString();
        });

        // (6) the tracking event processor sees every event
        check("tracking_processor", () -> {
            int expected = events[0];
            boolean caughtUp = waitFor(() -> projection.handledFor(ids) >= expected);
            TrackingEventProcessor processor = config.eventProcessingConfiguration()
                    .eventProcessor(Projection.PROCESSOR, TrackingEventProcessor.class)
                    .orElseThrow(() -> new AssertionError("no tracking processor " + Projection.PROCESSOR));
            expect(caughtUp, "processor handled " + projection.handledFor(ids) + " of " + expected
                    + " events for this run; status " + processor.processingStatus());
            expect(projection.handledFor(ids) == expected,
                    "processor handled " + projection.handledFor(ids) + " events, expected " + expected);
            expect(processor.isRunning() && !processor.isError(), "processor not running or in error");
            String positions = processor.processingStatus().values().stream()
                    .map(EventTrackerStatus::getCurrentPosition)
                    .map(String::valueOf).collect(Collectors.joining(","));
            return "events=" + expected + " positions=" + positions;
        });

        // (4) a point query answered by the query handler
        check("point_query", () -> {
            AccountView[] view = new AccountView[1];
            boolean ok = waitFor(() -> {
                view[0] = queries.query(new FindAccount(alice), ResponseTypes.instanceOf(AccountView.class))
                        .get(WAIT.toSeconds(), TimeUnit.SECONDS);
                return view[0] != null && view[0].balance() == 150;
            });
            expect(ok, "expected the view of " + alice + " with balance 150, got " + view[0]);
            return view[0].toString();
        });
        check("multiple_results_query", () -> {
            List<AccountView> views = queries.query(new ListAccounts("-" + run),
                    ResponseTypes.multipleInstancesOf(AccountView.class)).get(WAIT.toSeconds(), TimeUnit.SECONDS);
            List<String> names = views.stream().map(AccountView::id).toList();
            expect(names.equals(List.of(alice, bob)), "expected [" + alice + ", " + bob + "], got " + names);
            return null;
        });
        check("streaming_query", () -> {
            List<AccountView> views = Flux.from(queries.streamingQuery(new ListAccounts("-" + run), AccountView.class))
                    .collectList().block(WAIT);
            List<String> names = views == null ? null : views.stream().map(AccountView::id).toList();
            expect(List.of(alice, bob).equals(names), "expected [" + alice + ", " + bob + "], got " + names);
            // take(1) cancels the rest of the stream
            AccountView first = Flux.from(queries.streamingQuery(new ListAccounts("-" + run), AccountView.class))
                    .take(1).blockFirst(WAIT);
            expect(first != null && alice.equals(first.id()), "expected " + alice + " first, got " + first);
            return null;
        });
        check("query_without_handler_fails", () -> {
            try {
                Object result = queries.query(new UnhandledQuery(alice), ResponseTypes.instanceOf(String.class))
                        .get(WAIT.toSeconds(), TimeUnit.SECONDS);
                throw new AssertionError("a query nobody handles returned " + result);
            } catch (ExecutionException e) {
                return "rejected with " + describe(e.getCause());
            }
        });

        // (5) a subscription query: initial result, then an update after a new command
        check("subscription_query", () -> {
            SubscriptionQueryResult<AccountView, AccountView> result = queries.subscriptionQuery(
                    new FindAccount(bob),
                    ResponseTypes.instanceOf(AccountView.class),
                    ResponseTypes.instanceOf(AccountView.class));
            try {
                AccountView initial = result.initialResult().block(WAIT);
                expect(initial != null && initial.balance() == 15, "expected an initial view with balance 15, got "
                        + initial);
                BlockingQueue<AccountView> updates = new LinkedBlockingQueue<>();
                result.updates().subscribe(updates::add);
                Object balance = send(commands, new Deposit(bob, 20));
                events[0]++;
                expect(Integer.valueOf(35).equals(balance), "expected balance 35, got " + balance);
                AccountView update = updates.poll(WAIT.toMillis(), TimeUnit.MILLISECONDS);
                expect(update != null, "no update within " + WAIT.toSeconds() + "s");
                expect(update.balance() == 35 && update.events() == 3, "expected balance 35 after 3 events, got "
                        + update);
                return "initial=" + initial.balance() + " update=" + update.balance();
            } finally {
                result.cancel();
            }
        });

        if (http != null) {
            restChecks(config, commands, projection, ids, events, alice);
        }

        check("close_then_command_fails", () -> {
            send(commands, new CloseAccount(bob));
            events[0]++;
            Throwable error = sendExpectingFailure(commands, new Deposit(bob, 1));
            expect(chainText(error).contains("account closed"),
                    "the handler's message did not reach the sender: " + describe(error));
            return "rejected with " + describe(error);
        });

        if (Boolean.getBoolean("interop.restart-handshake")) {
            afterNodeRestart(commands, queries, projection, ids, events, alice, run);
        }

        long stop = System.nanoTime();
        config.shutdown();
        line("INFO shutdown in " + (System.nanoTime() - stop) / 1_000_000 + "ms");

        // (3) again, from a second application instance: a new connection, a new load
        Configuration second = start("ranvier-interop-2");
        try {
            CommandGateway commands2 = second.commandGateway();
            Projection projection2 = second.getComponent(Projection.class);
            check("reload_in_new_instance", () -> {
                AuditResult a = (AuditResult) send(commands2, new Audit(alice));
                AuditResult b = (AuditResult) send(commands2, new Audit(bob));
                expect(a.balance() == 150 && a.events() == 5 && !a.closed(), "unexpected " + a);
                expect(b.balance() == 35 && b.events() == 4 && b.closed(), "unexpected " + b);
                return a + " " + b;
            });
            check("tracking_replay_in_new_instance", () -> {
                int expected = events[0];
                boolean caughtUp = waitFor(() -> projection2.handledFor(ids) >= expected);
                expect(caughtUp && projection2.handledFor(ids) == expected,
                        "replayed " + projection2.handledFor(ids) + " of " + expected + " events");
                return "events=" + expected;
            });
        } finally {
            second.shutdown();
        }
    }

    // ---------------------------------------------------------------- node killed

    /**
     * {@code -Dinterop.restart-handshake=true}: print {@code PAUSE}, wait for a line on
     * stdin (meanwhile the caller kills the node this app is connected to, and restarts
     * it on the same ports and files when it is the only one), then check that this
     * application reconnected and carries on.
     */
    private void afterNodeRestart(CommandGateway commands, QueryGateway queries, Projection projection,
                                  Set<String> ids, int[] events, String alice, String run) throws Exception {
        line("PAUSE kill (and restart) the node this app is connected to, then send a line on stdin");
        String answer = new java.io.BufferedReader(new java.io.InputStreamReader(System.in)).readLine();
        line("INFO resumed: " + answer);
        Duration reconnect = WAIT.multipliedBy(2);
        check("reconnect_after_node_kill", () -> {
            long t0 = System.nanoTime();
            Object[] last = new Object[1];
            boolean ok = waitFor(reconnect, () -> {
                try {
                    last[0] = commands.send(new Audit(alice)).get(5, TimeUnit.SECONDS);
                    return true;
                } catch (ExecutionException | TimeoutException e) {
                    last[0] = e instanceof ExecutionException ? describe(e.getCause()) : "timeout";
                    return false;
                }
            });
            expect(ok, "no command got through within " + reconnect.toSeconds() + "s; last: " + last[0]);
            AuditResult audit = (AuditResult) last[0];
            expect(audit.balance() == 150 && audit.events() == 5, "expected balance 150 after 5 events, got "
                    + audit);
            return "first command through after " + (System.nanoTime() - t0) / 1_000_000 + "ms";
        });
        String dave = "dave-" + run;
        check("commands_after_node_kill", () -> {
            Object created = send(commands, new CreateAccount(dave, 7));
            ids.add(dave);
            events[0]++;
            expect(dave.equals(created), "expected " + dave + ", got " + created);
            return null;
        });
        check("tracking_after_node_kill", () -> {
            int expected = events[0];
            boolean caughtUp = waitFor(reconnect, () -> projection.handledFor(ids) >= expected);
            expect(caughtUp && projection.handledFor(ids) == expected,
                    "processor handled " + projection.handledFor(ids) + " of " + expected + " events");
            return null;
        });
        check("query_after_node_kill", () -> {
            AccountView view = queries.query(new FindAccount(dave), ResponseTypes.instanceOf(AccountView.class))
                    .get(WAIT.toSeconds(), TimeUnit.SECONDS);
            expect(view != null && view.balance() == 7, "expected " + dave + " with balance 7, got " + view);
            return null;
        });
    }

    // ---------------------------------------------------------------- the node's REST API

    private static final String COMPONENT = "ranvier-interop";
    private final HttpClient httpClient = HttpClient.newBuilder()
            .version(HttpClient.Version.HTTP_1_1) // no h2c upgrade attempt on every request
            .connectTimeout(Duration.ofSeconds(5))
            .build();
    private final ObjectMapper json = new ObjectMapper();

    /** What the node's HTTP API says about this application, and processor control through it. */
    private void restChecks(Configuration config, CommandGateway commands, Projection projection, Set<String> ids,
                            int[] events, String alice) {
        String base = http + "/v1/components/" + COMPONENT;
        String ctx = "?context=" + context;
        check("rest_component_commands", () -> {
            JsonNode body = json.readTree(get(base + "/commands" + ctx));
            Set<String> names = new TreeSet<>();
            body.forEach(n -> names.add(n.path("name").asText()));
            List<String> expected = List.of(CreateAccount.class, Deposit.class, Withdraw.class, CloseAccount.class,
                    Audit.class).stream().map(Class::getName).toList();
            expect(names.containsAll(expected), "expected " + expected + ", got " + names);
            return names.size() + " commands";
        });
        check("rest_component_queries", () -> {
            JsonNode body = json.readTree(get(base + "/queries" + ctx));
            expect(body.toString().contains(FindAccount.class.getName()), "no " + FindAccount.class.getName()
                    + " in " + body);
            return null;
        });
        TrackingEventProcessor processor = config.eventProcessingConfiguration()
                .eventProcessor(Projection.PROCESSOR, TrackingEventProcessor.class).orElseThrow();
        check("rest_processor_info", () -> {
            long position = processor.processingStatus().values().stream()
                    .mapToLong(s -> s.getCurrentPosition().orElse(-1)).max().orElse(-1);
            JsonNode[] instance = new JsonNode[1];
            boolean reported = waitFor(() -> {
                instance[0] = processorInstance(get(base + "/processors" + ctx));
                return instance[0] != null && instance[0].path("running").asBoolean()
                        && instance[0].path("segments").path(0).path("tokenPosition").asLong(-2) >= position;
            });
            expect(reported, "expected " + Projection.PROCESSOR + " running at token >= " + position
                    + ", the node reports " + instance[0]);
            return instance[0].toString();
        });
        check("rest_pause_processor", () -> {
            String answer = patch(base + "/processors/" + Projection.PROCESSOR + "/pause" + ctx);
            expect(waitFor(() -> !processor.isRunning()), "the processor still runs after pause (" + answer + ")");
            int before = projection.handledFor(ids);
            String carol = alice.replace("alice-", "carol-");
            ids.add(carol);
            send(commands, new CreateAccount(carol, 1));
            events[0]++;
            Thread.sleep(1000);
            expect(projection.handledFor(ids) == before, "a paused processor handled an event");
            JsonNode[] instance = new JsonNode[1];
            expect(waitFor(() -> {
                instance[0] = processorInstance(get(base + "/processors" + ctx));
                return instance[0] != null && !instance[0].path("running").asBoolean(true);
            }), "the node still reports the processor running: " + instance[0]);
            return null;
        });
        check("rest_start_processor", () -> {
            String answer = patch(base + "/processors/" + Projection.PROCESSOR + "/start" + ctx);
            expect(waitFor(processor::isRunning), "the processor is not running after start (" + answer + ")");
            int expected = events[0];
            expect(waitFor(() -> projection.handledFor(ids) == expected), "after start the processor handled "
                    + projection.handledFor(ids) + " of " + expected + " events");
            return null;
        });
    }

    private JsonNode processorInstance(String body) throws Exception {
        for (JsonNode p : json.readTree(body)) {
            if (Projection.PROCESSOR.equals(p.path("name").asText())) {
                JsonNode instances = p.path("instances");
                return instances.size() > 0 ? instances.get(0) : null;
            }
        }
        return null;
    }

    private String get(String url) throws Exception {
        return call(HttpRequest.newBuilder(URI.create(url)).GET());
    }

    private String patch(String url) throws Exception {
        return call(HttpRequest.newBuilder(URI.create(url)).method("PATCH", HttpRequest.BodyPublishers.noBody()));
    }

    private String call(HttpRequest.Builder request) throws Exception {
        HttpRequest built = request.timeout(WAIT).build();
        HttpResponse<String> response = httpClient.send(built, HttpResponse.BodyHandlers.ofString());
        expect(response.statusCode() / 100 == 2, built.method() + " " + built.uri() + " answered "
                + response.statusCode() + ": " + response.body());
        return response.body();
    }

    // ---------------------------------------------------------------- helpers

    private static Object send(CommandGateway gateway, Object command) throws Exception {
        try {
            return gateway.send(command).get(WAIT.toSeconds(), TimeUnit.SECONDS);
        } catch (ExecutionException e) {
            throw new AssertionError(command + " failed: " + describe(e.getCause()), e.getCause());
        } catch (TimeoutException e) {
            throw new AssertionError(command + " got no result within " + WAIT.toSeconds() + "s");
        }
    }

    private static Throwable sendExpectingFailure(CommandGateway gateway, Object command) throws Exception {
        Object result;
        try {
            result = gateway.send(command).get(WAIT.toSeconds(), TimeUnit.SECONDS);
        } catch (ExecutionException e) {
            return e.getCause();
        } catch (TimeoutException e) {
            throw new AssertionError(command + " got no answer within " + WAIT.toSeconds() + "s (expected an error)");
        }
        throw new AssertionError(command + " succeeded with " + result + " but should have failed");
    }

    private static boolean waitFor(ThrowingCondition condition) throws Exception {
        return waitFor(WAIT, condition);
    }

    private static boolean waitFor(Duration limit, ThrowingCondition condition) throws Exception {
        long deadline = System.nanoTime() + limit.toNanos();
        while (true) {
            if (condition.test()) {
                return true;
            }
            if (System.nanoTime() > deadline) {
                return false;
            }
            Thread.sleep(100);
        }
    }

    private static void expect(boolean condition, String message) {
        if (!condition) {
            throw new AssertionError(message);
        }
    }

    private void check(String name, Check body) {
        long t0 = System.nanoTime();
        try {
            String detail = body.run();
            passed++;
            long ms = (System.nanoTime() - t0) / 1_000_000;
            line("CHECK " + name + "=ok" + (detail == null ? "" : " " + oneLine(detail)) + " (" + ms + "ms)");
        } catch (Throwable t) {
            failures.add(name);
            line("CHECK " + name + "=FAIL " + describe(t));
            if (Boolean.getBoolean("interop.stack-traces")) {
                t.printStackTrace(System.out);
            }
        }
    }

    private static String chainText(Throwable t) {
        StringBuilder text = new StringBuilder();
        for (Throwable e = t; e != null && text.length() < 4000; e = e.getCause()) {
            text.append(e.getClass().getName()).append(": ").append(e.getMessage()).append(" / ");
            if (e.getCause() == e) {
                break;
            }
        }
        return text.toString();
    }

    static String describe(Throwable t) {
        if (t instanceof AssertionError && t.getCause() == null) {
            return oneLine(t.getMessage());
        }
        return oneLine(chainText(t));
    }

    private static String oneLine(String text) {
        return String.valueOf(text).replaceAll("\\s+", " ").trim();
    }

    private static synchronized void line(String text) {
        System.out.println(text);
        System.out.flush();
    }

    @FunctionalInterface
    private interface Check {
        String run() throws Exception;
    }

    @FunctionalInterface
    private interface ThrowingCondition {
        boolean test() throws Exception;
    }
}
