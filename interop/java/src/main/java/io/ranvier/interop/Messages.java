package io.ranvier.interop;

import org.axonframework.modelling.command.TargetAggregateIdentifier;

/** Commands, events and queries of the interop scenario (serialized with Jackson). */
public final class Messages {
    private Messages() {
    }

    // commands
    public record CreateAccount(@TargetAggregateIdentifier String id, int initial) {
    }

    public record Deposit(@TargetAggregateIdentifier String id, int amount) {
    }

    public record Withdraw(@TargetAggregateIdentifier String id, int amount) {
    }

    public record CloseAccount(@TargetAggregateIdentifier String id) {
    }

    /** Answered from the aggregate's state as loaded from the event store. */
    public record Audit(@TargetAggregateIdentifier String id) {
    }

    /** No component handles this command: the node must answer "no handler". */
    public record Unhandled(String id) {
    }

    // events
    public record AccountCreated(String id, int initial) {
    }

    public record Deposited(String id, int amount) {
    }

    public record Withdrawn(String id, int amount) {
    }

    public record AccountClosed(String id) {
    }

    // queries and their answers
    public record FindAccount(String id) {
    }

    public record UnhandledQuery(String id) {
    }

    /** Every account whose id ends with the suffix, sorted by id. */
    public record ListAccounts(String suffix) {
    }

    public record AccountView(String id, int balance, int events, boolean closed) {
    }

    /** What the aggregate says about itself after a load. */
    public record AuditResult(String id, int balance, int events, int replayedThisLoad, boolean closed) {
    }
}
