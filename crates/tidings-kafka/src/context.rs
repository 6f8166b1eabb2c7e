//! librdkafka's logs and errors, sent to `tracing` with the server's name.

use rdkafka::client::ClientContext;
use rdkafka::config::RDKafkaLogLevel;
use rdkafka::error::KafkaError;

/// A client context that forwards librdkafka's logs and errors to `tracing`.
/// librdkafka never logs `sasl.password` or `ssl.key.password`.
pub(crate) struct LogContext {
    server: String,
}

impl LogContext {
    pub(crate) fn new(server: &str) -> Self {
        LogContext { server: server.to_owned() }
    }
}

pub(crate) fn forward_log(server: &str, level: RDKafkaLogLevel, facility: &str, message: &str) {
    match level {
        RDKafkaLogLevel::Emerg | RDKafkaLogLevel::Alert | RDKafkaLogLevel::Critical | RDKafkaLogLevel::Error => {
            tracing::error!(target: "librdkafka", server, facility, "{message}")
        }
        RDKafkaLogLevel::Warning => tracing::warn!(target: "librdkafka", server, facility, "{message}"),
        RDKafkaLogLevel::Notice | RDKafkaLogLevel::Info => {
            tracing::info!(target: "librdkafka", server, facility, "{message}")
        }
        RDKafkaLogLevel::Debug => tracing::debug!(target: "librdkafka", server, facility, "{message}"),
    }
}

pub(crate) fn forward_error(server: &str, error: &KafkaError, reason: &str) {
    // Transport errors repeat while a broker is down; librdkafka retries by itself.
    tracing::warn!(target: "librdkafka", server, error = %error, "{reason}");
}

impl ClientContext for LogContext {
    fn log(&self, level: RDKafkaLogLevel, facility: &str, message: &str) {
        forward_log(&self.server, level, facility, message);
    }

    fn error(&self, error: KafkaError, reason: &str) {
        forward_error(&self.server, &error, reason);
    }
}
