package io.ranvier.interop;

import static org.axonframework.modelling.command.AggregateLifecycle.apply;

import com.fasterxml.jackson.annotation.JsonAutoDetect;
import io.ranvier.interop.Messages.AccountClosed;
import io.ranvier.interop.Messages.AccountCreated;
import io.ranvier.interop.Messages.Audit;
import io.ranvier.interop.Messages.AuditResult;
import io.ranvier.interop.Messages.CloseAccount;
import io.ranvier.interop.Messages.CreateAccount;
import io.ranvier.interop.Messages.Deposit;
import io.ranvier.interop.Messages.Deposited;
import io.ranvier.interop.Messages.Withdraw;
import io.ranvier.interop.Messages.Withdrawn;
import org.axonframework.commandhandling.CommandHandler;
import org.axonframework.eventsourcing.EventSourcingHandler;
import org.axonframework.modelling.command.AggregateIdentifier;

/**
 * An event-sourced aggregate. Snapshots are its fields as JSON; {@code replayedThisLoad}
 * is transient, so it counts the events applied to this instance since it was created
 * from nothing or from a snapshot: fewer than {@code events} means a snapshot was used.
 */
@JsonAutoDetect(fieldVisibility = JsonAutoDetect.Visibility.ANY,
        getterVisibility = JsonAutoDetect.Visibility.NONE,
        isGetterVisibility = JsonAutoDetect.Visibility.NONE)
public class Account {
    @AggregateIdentifier
    private String id;
    private int balance;
    private int events;
    private boolean closed;
    private transient int replayedThisLoad;

    protected Account() {
    }

    @CommandHandler
    public Account(CreateAccount command) {
        if (command.initial() < 0) {
            throw new IllegalArgumentException("initial balance must not be negative");
        }
        apply(new AccountCreated(command.id(), command.initial()));
    }

    @CommandHandler
    public int handle(Deposit command) {
        requireOpen();
        apply(new Deposited(id, command.amount()));
        return balance;
    }

    @CommandHandler
    public int handle(Withdraw command) {
        requireOpen();
        if (command.amount() > balance) {
            throw new IllegalStateException(
                    "insufficient funds: balance " + balance + ", asked " + command.amount());
        }
        apply(new Withdrawn(id, command.amount()));
        return balance;
    }

    @CommandHandler
    public int handle(CloseAccount command) {
        requireOpen();
        apply(new AccountClosed(id));
        return balance;
    }

    @CommandHandler
    public AuditResult handle(Audit command) {
        return new AuditResult(id, balance, events, replayedThisLoad, closed);
    }

    private void requireOpen() {
        if (closed) {
            throw new IllegalStateException("account closed: " + id);
        }
    }

    @EventSourcingHandler
    void on(AccountCreated event) {
        id = event.id();
        balance = event.initial();
        counted();
    }

    @EventSourcingHandler
    void on(Deposited event) {
        balance += event.amount();
        counted();
    }

    @EventSourcingHandler
    void on(Withdrawn event) {
        balance -= event.amount();
        counted();
    }

    @EventSourcingHandler
    void on(AccountClosed event) {
        closed = true;
        counted();
    }

    private void counted() {
        events++;
        replayedThisLoad++;
    }
}
