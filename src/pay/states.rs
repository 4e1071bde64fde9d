//! The order and refund state machines. Every change of a stored state goes
//! through [`TradeState::can_become`] or [`RefundStatus::can_become`].

use std::fmt;

/// `trade_state` of an order, as WeChat Pay names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TradeState {
    NotPay,
    UserPaying,
    PayError,
    Success,
    Refund,
    Closed,
    Revoked,
}

impl TradeState {
    pub const ALL: [TradeState; 7] = [
        TradeState::NotPay,
        TradeState::UserPaying,
        TradeState::PayError,
        TradeState::Success,
        TradeState::Refund,
        TradeState::Closed,
        TradeState::Revoked,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            TradeState::NotPay => "NOTPAY",
            TradeState::UserPaying => "USERPAYING",
            TradeState::PayError => "PAYERROR",
            TradeState::Success => "SUCCESS",
            TradeState::Refund => "REFUND",
            TradeState::Closed => "CLOSED",
            TradeState::Revoked => "REVOKED",
        }
    }

    pub fn parse(raw: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|s| s.as_str() == raw)
    }

    /// Money has arrived (and possibly partly gone back).
    pub fn is_paid(self) -> bool {
        matches!(self, TradeState::Success | TradeState::Refund)
    }

    /// May still be paid, so may be closed.
    pub fn is_open(self) -> bool {
        matches!(
            self,
            TradeState::NotPay | TradeState::UserPaying | TradeState::PayError
        )
    }

    /// Whether an order in `self` may move to `next`. Staying is always
    /// allowed (and changes nothing); paid orders never become unpaid, and
    /// closed or revoked orders never change again.
    pub fn can_become(self, next: TradeState) -> bool {
        use TradeState::*;
        if self == next {
            return true;
        }
        match self {
            NotPay => true,
            UserPaying => matches!(
                next,
                NotPay | PayError | Success | Refund | Closed | Revoked
            ),
            PayError => matches!(next, NotPay | UserPaying | Success | Refund | Closed),
            Success => next == Refund,
            Refund | Closed | Revoked => false,
        }
    }
}

impl fmt::Display for TradeState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A refund's status: WeChat's four plus ours before and instead of an answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RefundStatus {
    /// Amount reserved; the request to WeChat is under way or its outcome is
    /// unknown (query the refund to learn it).
    Submitting,
    Processing,
    Success,
    /// WeChat closed the refund: no money moved.
    Closed,
    /// Stuck at WeChat (e.g. the card is gone); money still owed.
    Abnormal,
    /// WeChat refused the request: no money moved.
    Failed,
}

impl RefundStatus {
    pub const ALL: [RefundStatus; 6] = [
        RefundStatus::Submitting,
        RefundStatus::Processing,
        RefundStatus::Success,
        RefundStatus::Closed,
        RefundStatus::Abnormal,
        RefundStatus::Failed,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            RefundStatus::Submitting => "SUBMITTING",
            RefundStatus::Processing => "PROCESSING",
            RefundStatus::Success => "SUCCESS",
            RefundStatus::Closed => "CLOSED",
            RefundStatus::Abnormal => "ABNORMAL",
            RefundStatus::Failed => "FAILED",
        }
    }

    pub fn parse(raw: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|s| s.as_str() == raw)
    }

    /// No money moves in this status: the reserved amount goes back.
    pub fn releases_amount(self) -> bool {
        matches!(self, RefundStatus::Closed | RefundStatus::Failed)
    }

    pub fn can_become(self, next: RefundStatus) -> bool {
        use RefundStatus::*;
        if self == next {
            return true;
        }
        match self {
            Submitting => true,
            Processing => matches!(next, Success | Closed | Abnormal),
            Abnormal => matches!(next, Processing | Success | Closed),
            Success | Closed | Failed => false,
        }
    }
}

impl fmt::Display for RefundStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        for state in TradeState::ALL {
            assert_eq!(TradeState::parse(state.as_str()), Some(state));
        }
        for status in RefundStatus::ALL {
            assert_eq!(RefundStatus::parse(status.as_str()), Some(status));
        }
        assert_eq!(TradeState::parse("PAID"), None);
    }

    #[test]
    fn paid_orders_never_become_unpaid() {
        use TradeState::*;
        assert!(NotPay.can_become(Success));
        assert!(Success.can_become(Refund));
        for next in [NotPay, UserPaying, PayError, Closed, Revoked] {
            assert!(!Success.can_become(next), "SUCCESS → {next}");
            assert!(!Refund.can_become(next), "REFUND → {next}");
        }
        for next in [NotPay, Success, Refund, UserPaying] {
            assert!(!Closed.can_become(next), "CLOSED → {next}");
            assert!(!Revoked.can_become(next), "REVOKED → {next}");
        }
        assert!(Closed.can_become(Closed));
    }

    #[test]
    fn finished_refunds_stay_finished() {
        use RefundStatus::*;
        assert!(Submitting.can_become(Processing));
        assert!(Processing.can_become(Success));
        assert!(!Success.can_become(Closed));
        assert!(!Closed.can_become(Success));
        assert!(!Failed.can_become(Processing));
        assert!(!Processing.can_become(Submitting));
        assert!(Closed.releases_amount() && Failed.releases_amount());
        assert!(!Abnormal.releases_amount());
    }
}
