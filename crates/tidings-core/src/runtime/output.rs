//! What a handler may return, and how it becomes a reply to publish (the encode step).

use crate::broker::Outgoing;
use crate::error::{BoxError, Error};
use crate::message::Message;
use crate::runtime::context::Context;
use crate::runtime::key::KeyFn;

/// The reply type of a handler that publishes nothing.
#[derive(Debug, Clone, Copy)]
pub enum NoReply {}

/// A handler's return value: nothing, a message to publish, or either in a `Result`.
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot be returned from a tidings handler",
    label = "unsupported return type",
    note = "return (), a Message, Option<Message>, or a Result of those with an error that converts into Box<dyn Error + Send + Sync>"
)]
pub trait HandlerOutput: Send {
    /// The message the handler publishes, or [`NoReply`].
    type Reply;
    /// Encodes the reply, if any, keyed by `key` (the stacked producer's declared key);
    /// a returned error becomes a handler failure.
    fn into_outgoing(self, ctx: &Context, key: Option<KeyFn<Self::Reply>>) -> Result<Option<Outgoing>, Error>;
}

fn failed<E: Into<BoxError>>(e: E) -> Error {
    let boxed: BoxError = e.into();
    // A tidings::Error returned by a handler keeps its kind (a decode error stays one).
    match boxed.downcast::<Error>() {
        Ok(err) => *err,
        Err(other) => Error::Handler(other),
    }
}

/// The encode step of a reply: the payload, and the declared key.
fn encode<T: Message>(ctx: &Context, message: &T, key: Option<KeyFn<T>>) -> Result<Outgoing, Error> {
    let mut out = ctx.encode(message)?;
    out.key = key.and_then(|key| key(message));
    Ok(out)
}

impl HandlerOutput for () {
    type Reply = NoReply;
    fn into_outgoing(self, _: &Context, _: Option<KeyFn<NoReply>>) -> Result<Option<Outgoing>, Error> {
        Ok(None)
    }
}

impl<E: Into<BoxError> + Send> HandlerOutput for Result<(), E> {
    type Reply = NoReply;
    fn into_outgoing(self, _: &Context, _: Option<KeyFn<NoReply>>) -> Result<Option<Outgoing>, Error> {
        self.map(|()| None).map_err(failed)
    }
}

impl<T: Message> HandlerOutput for T {
    type Reply = T;
    fn into_outgoing(self, ctx: &Context, key: Option<KeyFn<T>>) -> Result<Option<Outgoing>, Error> {
        encode(ctx, &self, key).map(Some)
    }
}

impl<T: Message> HandlerOutput for Option<T> {
    type Reply = T;
    fn into_outgoing(self, ctx: &Context, key: Option<KeyFn<T>>) -> Result<Option<Outgoing>, Error> {
        self.map(|m| encode(ctx, &m, key)).transpose()
    }
}

impl<T: Message, E: Into<BoxError> + Send> HandlerOutput for Result<T, E> {
    type Reply = T;
    fn into_outgoing(self, ctx: &Context, key: Option<KeyFn<T>>) -> Result<Option<Outgoing>, Error> {
        encode(ctx, &self.map_err(failed)?, key).map(Some)
    }
}

impl<T: Message, E: Into<BoxError> + Send> HandlerOutput for Result<Option<T>, E> {
    type Reply = T;
    fn into_outgoing(self, ctx: &Context, key: Option<KeyFn<T>>) -> Result<Option<Outgoing>, Error> {
        self.map_err(failed)?.map(|m| encode(ctx, &m, key)).transpose()
    }
}

/// Implemented only by [`NoReply`]: a handler without a stacked producer must not
/// return a message, or the message would be silently dropped.
#[diagnostic::on_unimplemented(
    message = "this handler returns a message (`{Self}`) but has no `#[tidings::producer]` to publish it",
    label = "the returned message would be dropped",
    note = "stack `#[tidings::producer(channel = \"...\")]` on the handler, or return ()"
)]
pub trait PublishesNothing {}
impl PublishesNothing for NoReply {}

/// Implemented by messages: a handler with a stacked producer must return one.
#[diagnostic::on_unimplemented(
    message = "this handler has a `#[tidings::producer]` but returns no message (`{Self}`)",
    label = "nothing to publish",
    note = "return the message (or Result<Message, E>), or remove the producer attribute"
)]
pub trait PublishesMessage {
    /// The description of the published message.
    fn describe_reply() -> tidings_asyncapi::description::MessageDescription;
}
impl<T: Message> PublishesMessage for T {
    fn describe_reply() -> tidings_asyncapi::description::MessageDescription {
        T::describe()
    }
}
