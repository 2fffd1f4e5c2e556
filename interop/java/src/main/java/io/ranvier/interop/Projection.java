package io.ranvier.interop;

import io.ranvier.interop.Messages.AccountClosed;
import io.ranvier.interop.Messages.AccountCreated;
import io.ranvier.interop.Messages.AccountView;
import io.ranvier.interop.Messages.Deposited;
import io.ranvier.interop.Messages.FindAccount;
import io.ranvier.interop.Messages.ListAccounts;
import io.ranvier.interop.Messages.Withdrawn;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;
import org.axonframework.config.ProcessingGroup;
import org.axonframework.eventhandling.EventHandler;
import org.axonframework.queryhandling.QueryHandler;
import org.axonframework.queryhandling.QueryUpdateEmitter;

/**
 * Read model fed by a tracking event processor ("interop-projection"); answers
 * {@link FindAccount} queries and emits subscription-query updates.
 */
@ProcessingGroup(Projection.PROCESSOR)
public class Projection {
    public static final String PROCESSOR = "interop-projection";

    private final QueryUpdateEmitter emitter;
    private final Map<String, AccountView> views = new ConcurrentHashMap<>();
    private final AtomicInteger handled = new AtomicInteger();

    public Projection(QueryUpdateEmitter emitter) {
        this.emitter = emitter;
    }

    /** Events this projection has handled for the given account ids. */
    public int handledFor(java.util.Collection<String> ids) {
        return ids.stream().mapToInt(id -> {
            AccountView view = views.get(id);
            return view == null ? 0 : view.events();
        }).sum();
    }

    public int handledTotal() {
        return handled.get();
    }

    @EventHandler
    void on(AccountCreated event) {
        update(new AccountView(event.id(), event.initial(), 1, false));
    }

    @EventHandler
    void on(Deposited event) {
        AccountView v = views.get(event.id());
        update(new AccountView(event.id(), v.balance() + event.amount(), v.events() + 1, v.closed()));
    }

    @EventHandler
    void on(Withdrawn event) {
        AccountView v = views.get(event.id());
        update(new AccountView(event.id(), v.balance() - event.amount(), v.events() + 1, v.closed()));
    }

    @EventHandler
    void on(AccountClosed event) {
        AccountView v = views.get(event.id());
        update(new AccountView(event.id(), v.balance(), v.events() + 1, true));
    }

    private void update(AccountView view) {
        views.put(view.id(), view);
        handled.incrementAndGet();
        emitter.emit(FindAccount.class, query -> query.id().equals(view.id()), view);
    }

    @QueryHandler
    public AccountView find(FindAccount query) {
        return views.get(query.id());
    }

    @QueryHandler
    public List<AccountView> list(ListAccounts query) {
        return views.values().stream()
                .filter(view -> view.id().endsWith(query.suffix()))
                .sorted(Comparator.comparing(AccountView::id))
                .toList();
    }
}
