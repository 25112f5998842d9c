/// What writing one decision into a projection actually did.
public enum ProjectionResult: Sendable, Equatable {
    /// Written (or nothing to write for this decision).
    case applied
    /// The target holds a newer version and kept it (a lost DynamoDB condition); `note` says which.
    case stale(note: String)
    /// The write failed: a transient failure, retried on redelivery. `code` e.g. `projection.dynamodb_write_failed`.
    case failed(code: String, message: String)
}

/// A projection the processor writes into over the network (DynamoDB `Orders`, a shadow table): one of the I/O
/// edges of the processing step. The local projection is the other kind: it is written inside the log's
/// transaction, with the attempt (``ProcessingStep``).
///
/// Implementations only write; they never decide. The decision stays ``OrderProcessor/decide(_:state:)``'s, and
/// how a result changes it is ``OrderProcessor/resolve(_:results:receive:)``'s.
public protocol Projection: Sendable {
    /// For messages and notes, e.g. `DynamoDB table Orders`.
    var name: String { get }
    /// Creates the target if it is missing (idempotent).
    func ensureExists() async throws
    /// Writes a decision's effect (only `projected` decisions write anything).
    func project(_ decision: Decision, receive: LoggedReceive) async -> ProjectionResult
}

extension OrderProcessor {
    /// The dead-letter rule, the one copy: a failure (rejected or failed) on receive number ≥ maxReceiveCount of a
    /// real SQS message exhausts the redrive policy.
    public func isDeadLettered(_ outcome: Outcome, receive: LoggedReceive) -> Bool {
        (outcome == .rejected || outcome == .failed) && receive.messageId != nil
            && receive.receiveCount >= rules.maxReceiveCount
    }

    /// The transient-failure rewrite, the one copy: a final decision whose write failed becomes `failed`
    /// (transient), so the message is left for redelivery and a rerun retries it.
    public func transientFailure(_ decision: Decision, code: String, message: String, receive: LoggedReceive)
        -> Decision
    {
        var d = decision
        d.outcome = .failed
        d.errorKind = .transient
        d.errorCode = code
        d.errorField = nil
        d.errorMessage = message
        d.note = nil
        d.deadLettered = isDeadLettered(.failed, receive: receive)
        return d
    }

    /// What a decision becomes once the network projections have answered.
    ///
    /// `decision` is the decision against the local state at record time; `results` are the answers of the
    /// projections written for the decision made when the batch was received (nil when none was written, because
    /// that decision was not `projected`). Only a `projected` decision is changed: a failed write makes it a
    /// transient failure, a lost condition makes it `stale`. A decision that became `projected` although nothing was
    /// written (cannot happen: the local state only moves forward) is recorded as a transient failure, to be retried.
    public func resolve(_ decision: Decision, results: [ProjectionResult]?, receive: LoggedReceive) -> Decision {
        guard decision.outcome == .projected else { return decision }
        guard let results else {
            return transientFailure(
                decision, code: "projection.not_written",
                message: "the decision changed to projected while the message was in flight; retried on redelivery",
                receive: receive)
        }
        var d = decision
        for r in results {
            switch r {
            case .applied:
                continue
            case .failed(let code, let message):
                return transientFailure(decision, code: code, message: message, receive: receive)
            case .stale(let note):
                if d.outcome == .projected {
                    d.outcome = .stale
                    d.note = note
                }
            }
        }
        return d
    }
}
