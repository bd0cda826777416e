//! The server session: input buffering, line framing, body modes, decisions and answers.
//! Command handlers live in `handlers.rs`, answers and body boundaries in `answers.rs`;
//! this file owns the flow of bytes.
//!
//! Flow: `feed` appends a chunk and runs the input until it is used up, a decision is
//! needed, or the session closes. A pending decision holds the rest of the input (at most
//! `max_held` bytes, else 421 and close) until `answer`. Replies accumulate and leave
//! together in the `Output` of the call that produced them (one write per chunk).
//!
//! Bounds: a command line is framed within `max_command_line` bytes (AUTH lines within
//! `max_auth_line`); past that the line gets 500 5.5.2 at once and the rest of it is
//! discarded as it arrives, never buffered. Body bytes are decoded as they come.

use status::Failure;

use crate::body::{BodyDecoder, BodySink};
use crate::command;
use crate::reply::Reply;
use crate::settings::Settings;

/// SASL mechanisms offered.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mechanism {
    Plain,
    Login,
}

/// A question for the policy side; the session waits for `answer`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Decision {
    /// MAIL FROM passed syntax and SIZE checks; answer 250 2.1.0 or a refusal.
    Mail { address: String, size: Option<u64>, body: Option<String>, smtputf8: bool },
    /// RCPT TO passed syntax and count checks; answer 250 2.1.5 or a refusal.
    Rcpt { address: String },
    /// Credentials to check; answer 235 2.7.0 or 535 5.7.8.
    Auth { mechanism: Mechanism, user: String, password: String },
    /// A body is about to start (DATA, or the first BDAT chunk); open the body sink and
    /// answer positively (the session then says 354 itself for DATA), or refuse (451 4.3.0).
    DataStart { bdat: bool },
    /// The body ended. With `refusal` the policy side must drop the body: the session
    /// sends the refusal whatever the answer. Otherwise commit, then answer 250 or 451.
    DataEnd { size: u64, hops: u32, refusal: Option<Reply> },
    /// ETRN for a domain (RFC 1985), outside a transaction; answer 250/251/252/253 when its
    /// queue is started or empty, 458 or 459 when not. The answer is sent as given.
    Etrn { domain: String },
    /// EHLO or HELO with a well-formed name, asked only when `Settings::ask_helo` is set;
    /// a positive answer gives the usual greeting reply (the answer's text is not used), a
    /// refusal is sent as given and the name is not taken.
    Helo { name: String, ehlo: bool },
}

/// What one call produced.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Output {
    /// Reply bytes to write, in order.
    pub replies: Vec<u8>,
    /// The decision now pending, if this call raised one.
    pub decision: Option<Decision>,
    /// Write the replies, then close the connection (QUIT, 421). Any open body is dropped.
    pub close: bool,
    /// Write the replies, then start the TLS handshake and call `tls_started`.
    pub starttls: bool,
}

#[derive(Clone, Debug)]
pub(crate) enum Mode {
    Command,
    SkipLine,
    AuthPlain,
    AuthLoginUser,
    AuthLoginPass(String),
    Data,
    Bdat { remaining: u64, last: bool, size: u64 },
    Discard { remaining: u64, reply: Reply },
    AwaitTls,
    Closed,
}

#[derive(Clone, Debug)]
pub(crate) enum Pending {
    Mail { smtputf8: bool },
    Rcpt,
    Auth,
    DataStart { bdat: Option<(u64, bool)> },
    DataEnd { refusal: Option<Reply> },
    Etrn,
    Helo { name: String, ehlo: bool },
}

/// The mail transaction in progress.
#[derive(Default)]
pub(crate) struct Txn {
    pub mail: bool,
    pub smtputf8: bool,
    pub rcpts: usize,
    /// The body decoder while a body is being received (DATA, or BDAT across chunks).
    pub body: Option<BodyDecoder>,
}

/// One SMTP server session.
pub struct Session {
    pub(crate) settings: Settings,
    pub(crate) mode: Mode,
    pub(crate) tls: bool,
    pub(crate) helo: Option<String>,
    pub(crate) authenticated: bool,
    pub(crate) txn: Txn,
    inbuf: Vec<u8>,
    pos: usize,
    out: Vec<u8>,
    errors: u32,
    junk: u32,
    pending: Option<Pending>,
    decision: Option<Decision>,
    close: bool,
    pub(crate) starttls: bool,
}

impl Session {
    pub fn new(settings: Settings) -> Self {
        Session {
            tls: settings.tls,
            settings,
            mode: Mode::Command,
            helo: None,
            authenticated: false,
            txn: Txn::default(),
            inbuf: Vec::new(),
            pos: 0,
            out: Vec::new(),
            errors: 0,
            junk: 0,
            pending: None,
            decision: None,
            close: false,
            starttls: false,
        }
    }

    /// The 220 greeting (RFC 2034: the greeting carries no enhanced status).
    pub fn greeting(&self) -> Vec<u8> {
        let mut out = b"220 ".to_vec();
        crate::reply::push_text(&mut out, self.settings.hostname.as_bytes());
        out.extend_from_slice(b" ESMTP qmta\r\n");
        out
    }

    /// The EHLO/HELO name given, if any.
    pub fn helo(&self) -> Option<&str> {
        self.helo.as_deref()
    }

    /// True once TLS is up (implicit, or after STARTTLS and `tls_started`).
    pub fn is_tls(&self) -> bool {
        self.tls
    }

    /// True once an AUTH decision was answered positively.
    pub fn is_authenticated(&self) -> bool {
        self.authenticated
    }

    /// Takes a socket chunk; see the module header.
    pub fn feed(&mut self, chunk: &[u8], sink: &mut dyn BodySink) -> Output {
        if matches!(self.mode, Mode::Closed | Mode::AwaitTls) {
            return self.take_output();
        }
        if self.pending.is_some() && self.inbuf.len() - self.pos + chunk.len() > self.settings.max_held {
            self.fatal(Reply::new(421, "4.7.0", "too much pipelined input, closing"));
            return self.take_output();
        }
        self.inbuf.extend_from_slice(chunk);
        self.run(sink);
        self.take_output()
    }

    /// Answers the pending decision; an `Err` means there was none (a broken contract).
    pub fn answer(&mut self, reply: Reply, sink: &mut dyn BodySink) -> Result<Output, Failure> {
        let pending = self.pending.take().ok_or_else(|| Failure::perm("5.0", "answer without a pending decision"))?;
        // A malformed answer is a policy bug: unknown means temporary.
        let reply = if reply.is_well_formed() { reply } else { Reply::new(451, "4.3.0", "local policy error") };
        self.apply(pending, reply);
        self.run(sink);
        Ok(self.take_output())
    }

    /// The TLS handshake after STARTTLS is done: everything is reset, a new EHLO is needed
    /// (RFC 3207); plaintext read before the handshake was already discarded.
    pub fn tls_started(&mut self) -> Result<(), Failure> {
        if !matches!(self.mode, Mode::AwaitTls) {
            return Err(Failure::perm("5.0", "tls_started without STARTTLS"));
        }
        let errors = self.errors;
        *self = Session::new(Settings { tls: true, ..self.settings.clone() });
        self.errors = errors;
        Ok(())
    }

    fn take_output(&mut self) -> Output {
        self.inbuf.drain(..self.pos);
        self.pos = 0;
        Output {
            replies: std::mem::take(&mut self.out),
            decision: self.decision.take(),
            close: std::mem::take(&mut self.close),
            starttls: std::mem::take(&mut self.starttls),
        }
    }

    /// Raises a decision; input stops until it is answered.
    pub(crate) fn ask(&mut self, pending: Pending, decision: Decision) {
        self.pending = Some(pending);
        self.decision = Some(decision);
    }

    /// Queues a reply; every 4xx/5xx counts toward the error limit.
    pub(crate) fn reply(&mut self, r: Reply) {
        r.write_to(&mut self.out);
        if r.code >= 400 {
            self.count_error();
        }
    }

    fn count_error(&mut self) {
        if matches!(self.mode, Mode::Closed) {
            return;
        }
        self.errors += 1;
        if self.errors >= self.settings.max_errors {
            self.fatal(Reply::new(421, "4.7.0", "too many errors, closing connection"));
        }
    }

    /// A junk command (NOOP, RSET, VRFY, HELP): past max_junk each one counts as an error.
    pub(crate) fn junk(&mut self, r: Reply) {
        self.junk = self.junk.saturating_add(1);
        self.reply(r);
        if self.junk > self.settings.max_junk {
            self.count_error();
        }
    }

    /// A message was accepted: the junk allowance starts over.
    pub(crate) fn reset_junk(&mut self) {
        self.junk = 0;
    }

    /// Throws away all buffered input (STARTTLS).
    pub(crate) fn discard_input(&mut self) {
        self.pos = self.inbuf.len();
    }

    pub(crate) fn write_raw(&mut self, bytes: &[u8]) {
        self.out.extend_from_slice(bytes);
    }

    /// A last reply, then close; nothing more is read.
    pub(crate) fn fatal(&mut self, r: Reply) {
        r.write_to(&mut self.out);
        self.mode = Mode::Closed;
        self.close = true;
    }

    fn run(&mut self, sink: &mut dyn BodySink) {
        while self.pending.is_none() && self.step(sink) {}
    }

    /// One unit of work; false when more input is needed or the session stopped reading.
    fn step(&mut self, sink: &mut dyn BodySink) -> bool {
        match self.mode {
            Mode::Command | Mode::AuthPlain | Mode::AuthLoginUser | Mode::AuthLoginPass(_) => self.line_step(sink),
            Mode::SkipLine => self.skip_step(),
            Mode::Data => self.data_step(sink),
            Mode::Bdat { .. } => self.bdat_step(sink),
            Mode::Discard { .. } => self.discard_step(),
            Mode::AwaitTls | Mode::Closed => false,
        }
    }

    fn line_step(&mut self, sink: &mut dyn BodySink) -> bool {
        let avail = &self.inbuf[self.pos..];
        if avail.is_empty() {
            return false;
        }
        let auth = !matches!(self.mode, Mode::Command) || command::is_auth_line(avail);
        let limit = if auth { self.settings.max_auth_line } else { self.settings.max_command_line };
        match avail[..avail.len().min(limit)].iter().position(|&b| b == b'\n') {
            Some(i) => {
                let line = avail[..i].to_vec();
                self.pos += i + 1;
                self.framed_line(line, sink);
            }
            None if avail.len() >= limit => {
                // Only the window is dropped here: the rest of the line goes in SkipLine,
                // and whatever follows its LF is the next command.
                self.pos += limit;
                self.mode = Mode::SkipLine;
                self.reply(Reply::new(500, "5.5.2", "line too long"));
            }
            None => return false,
        }
        true
    }

    /// A line up to its LF: it must end in CR LF and hold no other CR.
    fn framed_line(&mut self, mut line: Vec<u8>, sink: &mut dyn BodySink) {
        if line.pop() != Some(b'\r') || line.contains(&b'\r') {
            self.mode = Mode::Command;
            self.reply(Reply::new(500, "5.5.2", "bare CR or LF in command line"));
            return;
        }
        match std::mem::replace(&mut self.mode, Mode::Command) {
            Mode::Command => self.command(&line, sink),
            Mode::AuthPlain => self.auth_plain(&line),
            Mode::AuthLoginUser => self.auth_login_user(&line),
            Mode::AuthLoginPass(user) => self.auth_login_pass(user, &line),
            other => self.mode = other,
        }
    }

    fn skip_step(&mut self) -> bool {
        let avail = &self.inbuf[self.pos..];
        match avail.iter().position(|&b| b == b'\n') {
            Some(i) => {
                self.pos += i + 1;
                self.mode = Mode::Command;
                true
            }
            None => {
                self.pos = self.inbuf.len();
                false
            }
        }
    }

    fn data_step(&mut self, sink: &mut dyn BodySink) -> bool {
        let avail = &self.inbuf[self.pos..];
        let Some(decoder) = self.txn.body.as_mut() else { return false };
        if avail.is_empty() {
            return false;
        }
        let (used, ended) = decoder.decode(avail, sink);
        self.pos += used;
        if ended {
            self.end_body(sink);
        }
        true
    }

    fn bdat_step(&mut self, sink: &mut dyn BodySink) -> bool {
        let Mode::Bdat { remaining, last, size } = self.mode else { return false };
        let avail = &self.inbuf[self.pos..];
        let n = avail.len().min(usize::try_from(remaining).unwrap_or(usize::MAX));
        if n == 0 && remaining > 0 {
            return false;
        }
        if let Some(decoder) = self.txn.body.as_mut() {
            decoder.decode(&avail[..n], sink);
        }
        self.pos += n;
        let remaining = remaining - n as u64;
        self.mode = if remaining > 0 { Mode::Bdat { remaining, last, size } } else { Mode::Command };
        if remaining == 0 && last {
            self.end_body(sink);
        } else if remaining == 0 {
            self.reply(Reply::new(250, "2.0.0", format!("{size} octets received")));
        }
        true
    }

    fn discard_step(&mut self) -> bool {
        let Mode::Discard { remaining, ref reply } = self.mode else { return false };
        let reply = reply.clone();
        let n = (self.inbuf.len() - self.pos).min(usize::try_from(remaining).unwrap_or(usize::MAX));
        if n == 0 && remaining > 0 {
            return false;
        }
        self.pos += n;
        let remaining = remaining - n as u64;
        if remaining > 0 {
            self.mode = Mode::Discard { remaining, reply };
        } else {
            self.mode = Mode::Command;
            self.reply(reply);
        }
        true
    }
}
