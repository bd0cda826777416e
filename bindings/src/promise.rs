//! A promise settled from any thread: the pattern of every call that runs on the core's
//! own threads (queue.rs, mailbox.rs) rather than the libuv pool. A Failure rejects with
//! a QMTA_TEMP/QMTA_PERM error (failure::to_napi), built on the JS thread.

use napi::bindgen_prelude::{PromiseRaw, ToNapiValue};
use napi::{Env, JsError, JsValue};

use crate::failure::to_napi;

type Resolver<T> = Box<dyn FnOnce(Env) -> napi::Result<T> + Send>;
pub type Settle<T> = Box<dyn FnOnce(status::Result<T>) + Send>;

/// A promise and the Send callback that settles it from any thread.
pub fn deferred<T: ToNapiValue + Send + 'static>(env: &Env) -> napi::Result<(Settle<T>, PromiseRaw<'_, T>)> {
    let (d, promise) = env.create_deferred::<T, Resolver<T>>()?;
    let settle: Settle<T> = Box::new(move |r| {
        d.resolve(Box::new(move |env: Env| r.map_err(|f| napi::Error::from(JsError::from(to_napi(f)).into_unknown(env)))))
    });
    Ok((settle, PromiseRaw::new(env.raw(), promise.raw())))
}
