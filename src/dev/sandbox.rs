//! `wxmp sandbox`: the fake WeChat API and the fake WeChat Pay side by side,
//! for local demos, with what to tell wxmp to use them.

use std::fmt::Write as _;
use std::net::SocketAddr;

use super::fake_pay::{self, FakePay, SignWith};
use super::fake_wechat::FakeWeChat;

/// Both fakes, serving until dropped.
pub struct Sandbox {
    pub wechat: FakeWeChat,
    /// Where the fake WeChat API serves.
    pub wechat_addr: SocketAddr,
    pub pay: FakePay,
}

/// The port after `listen`'s (port 0 stays 0: any free port).
pub fn next_port(listen: SocketAddr) -> SocketAddr {
    let port = match listen.port() {
        0 => 0,
        port => port.checked_add(1).unwrap_or(0),
    };
    SocketAddr::new(listen.ip(), port)
}

impl Sandbox {
    /// Serves the fake WeChat API (any AppID and secret) on `wechat` and the
    /// fake WeChat Pay (its test merchant, answers signed with the "WeChat Pay
    /// public key") on `pay`.
    pub async fn start(wechat: SocketAddr, pay: SocketAddr) -> std::io::Result<Self> {
        let fake = FakeWeChat::new(&[]);
        let wechat_addr = fake.start(wechat).await?;
        let pay = FakePay::start_on(pay, SignWith::PublicKey).await?;
        Ok(Self {
            wechat: fake,
            wechat_addr,
            pay,
        })
    }

    /// What to print: both base URLs, the environment for wxmp, a pay
    /// account's fields and the sandbox's own controls. The keys are fake and
    /// new on every run, so printing them is the point.
    pub fn banner(&self) -> String {
        let (wechat, pay) = (format!("http://{}", self.wechat_addr), self.pay.base_url());
        let keys = fake_pay::keys();
        let mut out = String::new();
        let _ = writeln!(out, "fake WeChat API on {wechat} (any AppID and secret)");
        let _ = writeln!(out, "fake WeChat Pay on {pay} (one merchant, below)");
        let _ = writeln!(out, "\nrun wxmp against them:");
        let _ = writeln!(
            out,
            "  WXMP_WECHAT_API_BASE={wechat} WXMP_PAY_API_BASE={pay} wxmp"
        );
        let _ = writeln!(
            out,
            "\na pay account (these fields of the account; the keys are new on every run):"
        );
        for (field, value) in [
            ("mch_id", fake_pay::MCH_ID),
            ("pay_cert_serial", fake_pay::MERCHANT_SERIAL),
            ("pay_api_v3_key", fake_pay::API_V3_KEY),
            ("pay_public_key_id", fake_pay::PUB_KEY_ID),
        ] {
            let _ = writeln!(out, "  {field}: {value}");
        }
        let _ = writeln!(
            out,
            "  pay_private_key:\n{}",
            fake_pay::private_pem(&keys.merchant).trim_end()
        );
        let _ = writeln!(
            out,
            "  pay_public_key:\n{}",
            fake_pay::public_pem(&keys.wechat).trim_end()
        );
        let _ = writeln!(
            out,
            "\nplay the payer (wxmp is notified at the order's notify_url):"
        );
        let _ = writeln!(out, "  curl -X POST {pay}/sandbox/orders/OUT_TRADE_NO/pay");
        let _ = writeln!(
            out,
            "  curl -X POST {pay}/sandbox/refunds/OUT_REFUND_NO/finish -d '{{\"status\":\"SUCCESS\"}}'"
        );
        out
    }
}

#[cfg(test)]
mod tests {
    use super::next_port;

    #[test]
    fn the_pay_fake_listens_on_the_port_after_the_wechat_fake() {
        let next = |addr: &str| next_port(addr.parse().unwrap()).to_string();
        assert_eq!(next("127.0.0.1:9100"), "127.0.0.1:9101");
        assert_eq!(next("0.0.0.0:0"), "0.0.0.0:0", "any port stays any port");
        assert_eq!(next("127.0.0.1:65535"), "127.0.0.1:0");
    }
}
