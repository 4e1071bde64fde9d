//! The WeChat callback protocol, pure: signatures, WXBizMsgCrypt, XML in,
//! typed messages, replies out. No database and no HTTP framework here.

pub mod crypto;
pub mod message;
pub mod reply;
pub mod sample;
pub mod signature;
pub mod xml;

pub use crypto::{CryptoError, MessageCrypto};
pub use message::{Event, InboundMessage, MessageKind};
pub use reply::{Article, Reply, ReplyFields};
pub use sample::SampleMessage;
