//! Command handlers: state checks, argument parsing, and either a reply or a decision.
//!
//! Replies (RFC 5321, 3207, 3030, 4954 with RFC 3463 statuses):
//! - order: MAIL before EHLO/HELO, nested MAIL, RCPT before MAIL, DATA/BDAT before MAIL -> 503 5.5.1;
//!   DATA/BDAT without accepted recipients -> 554 5.5.1; more than max_rcpts -> 452 4.5.3;
//!   SIZE= above databytes -> 552 5.3.4.
//! - unknown verb -> 500 5.5.1; known but not offered -> 502 5.5.1; bad arguments -> 501 5.5.4.
//! - STARTTLS: not offered -> 502 5.5.1, inside a transaction -> 503 5.5.1; else 220 2.0.0 and
//!   every byte pipelined after it is discarded (CVE-2011-0411).
//! - ETRN (RFC 1985): not offered -> 502 5.5.1; before EHLO/HELO or inside a transaction ->
//!   503 5.5.1; no or bad domain -> 501 5.5.4; the `@domain` and `#queue` forms -> 504 5.5.4
//!   (not supported); else the `Etrn` decision. Each ETRN counts as a junk command.
//! - AUTH: not offered -> 502 5.5.1; before TLS where TLS is required -> 538 5.7.11; twice or
//!   inside a transaction -> 503 5.5.1; unknown mechanism -> 504 5.5.4; "*" -> 501 5.7.0.
//!
//! A BDAT that cannot be accepted still has its chunk read and discarded before the reply.

use crate::address::{parse_mail, parse_rcpt};
use crate::auth::{decode_base64, split_plain, text, CredentialError};
use crate::body::BodySink;
use crate::command::{auth_args, bdat_args, etrn_arg, helo_name, split, EtrnArg, Verb};
use crate::reply::{write_multiline, Reply};
use crate::session::{Decision, Mechanism, Mode, Pending, Session, Txn};

impl Session {
    /// A complete command line (CR LF removed).
    pub(crate) fn command(&mut self, line: &[u8], sink: &mut dyn BodySink) {
        let (verb, arg) = split(line);
        match verb {
            Verb::Helo | Verb::Ehlo => self.hello(verb == Verb::Ehlo, arg, sink),
            Verb::Mail => self.mail(arg),
            Verb::Rcpt => self.rcpt(arg),
            Verb::Data => self.data(arg),
            Verb::Bdat => self.bdat(arg),
            Verb::Rset if arg.is_empty() => {
                self.reset_txn(sink);
                self.junk(Reply::new(250, "2.0.0", "flushed"));
            }
            Verb::Noop => self.junk(Reply::new(250, "2.0.0", "ok")),
            Verb::Quit => {
                self.reset_txn(sink);
                let text = format!("{} closing connection", self.settings.hostname);
                self.fatal(Reply::new(221, "2.0.0", text));
            }
            Verb::Vrfy => self.junk(Reply::new(252, "2.0.0", "send some mail, I'll try my best")),
            Verb::Help => self.junk(Reply::new(214, "2.0.0", "qmta: see RFC 5321")),
            Verb::StartTls => self.start_tls(arg),
            Verb::Auth => self.auth(arg),
            Verb::Etrn => self.etrn(arg),
            Verb::Expn | Verb::Unimplemented => self.reply(Reply::new(502, "5.5.1", "command not implemented")),
            Verb::Rset => self.syntax("RSET takes no argument"),
            Verb::Unknown => self.reply(Reply::new(500, "5.5.1", "command unrecognized")),
        }
    }

    fn syntax(&mut self, text: &str) {
        self.reply(Reply::new(501, "5.5.4", text));
    }

    fn sequence(&mut self, text: &str) {
        self.reply(Reply::new(503, "5.5.1", text));
    }

    /// Drops the transaction; a body being received (BDAT) is abandoned.
    pub(crate) fn reset_txn(&mut self, sink: &mut dyn BodySink) {
        if self.txn.body.is_some() {
            sink.abort();
        }
        self.txn = Txn::default();
    }

    fn auth_offered(&self) -> bool {
        self.settings.auth && (self.tls || self.settings.auth_without_tls)
    }

    fn hello(&mut self, ehlo: bool, arg: &[u8], sink: &mut dyn BodySink) {
        let Some(name) = helo_name(arg) else { return self.syntax("syntax: EHLO hostname") };
        self.reset_txn(sink);
        if self.settings.ask_helo {
            return self.ask(Pending::Helo { name: name.clone(), ehlo }, Decision::Helo { name, ehlo });
        }
        self.greet(ehlo, name);
    }

    /// The positive reply to EHLO/HELO; the name is the session's from now on.
    pub(crate) fn greet(&mut self, ehlo: bool, name: String) {
        let host = self.settings.hostname.clone();
        if !ehlo {
            self.write_raw(format!("250 {host}\r\n").as_bytes());
        } else {
            let lines = self.extensions(format!("{host} hello {name}"));
            let mut out = Vec::new();
            write_multiline(&mut out, 250, &lines);
            self.write_raw(&out);
        }
        self.helo = Some(name);
    }

    fn extensions(&self, first: String) -> Vec<String> {
        let s = &self.settings;
        let mut lines = vec![first, "PIPELINING".into()];
        lines.push(if s.databytes > 0 { format!("SIZE {}", s.databytes) } else { "SIZE".into() });
        lines.extend(["8BITMIME", "ENHANCEDSTATUSCODES", "SMTPUTF8"].map(String::from));
        if s.chunking {
            lines.push("CHUNKING".into());
        }
        if s.starttls && !self.tls {
            lines.push("STARTTLS".into());
        }
        if self.auth_offered() {
            lines.push("AUTH PLAIN LOGIN".into());
        }
        if s.etrn {
            lines.push("ETRN".into());
        }
        lines
    }

    fn etrn(&mut self, arg: &[u8]) {
        if !self.settings.etrn {
            return self.reply(Reply::new(502, "5.5.1", "command not implemented"));
        }
        if self.helo.is_none() {
            return self.sequence("send EHLO or HELO first");
        }
        if self.txn.mail {
            return self.sequence("ETRN inside a mail transaction");
        }
        match etrn_arg(arg) {
            None => self.syntax("syntax: ETRN domain"),
            Some(EtrnArg::Option(c)) => {
                let text = format!("ETRN {}name not supported, only ETRN domain", char::from(c));
                self.reply(Reply::new(504, "5.5.4", text));
            }
            Some(EtrnArg::Domain(domain)) => self.ask(Pending::Etrn, Decision::Etrn { domain }),
        }
    }

    fn mail(&mut self, arg: &[u8]) {
        if self.helo.is_none() {
            return self.sequence("send EHLO or HELO first");
        }
        if self.txn.mail {
            return self.sequence("nested MAIL command");
        }
        match parse_mail(arg) {
            Err(r) => self.reply(r),
            Ok((_, p)) if self.settings.databytes > 0 && p.size.is_some_and(|n| n > self.settings.databytes) => {
                self.reply(Reply::new(552, "5.3.4", "message size exceeds my databytes limit"))
            }
            Ok((address, p)) => {
                let decision = Decision::Mail { address, size: p.size, body: p.body, smtputf8: p.smtputf8 };
                self.ask(Pending::Mail { smtputf8: p.smtputf8 }, decision);
            }
        }
    }

    fn rcpt(&mut self, arg: &[u8]) {
        if !self.txn.mail {
            return self.sequence("need MAIL before RCPT");
        }
        if self.txn.body.is_some() {
            return self.sequence("RCPT after BDAT");
        }
        if self.txn.rcpts >= self.settings.max_rcpts {
            return self.reply(Reply::new(452, "4.5.3", "too many recipients"));
        }
        match parse_rcpt(arg, self.txn.smtputf8) {
            Err(r) => self.reply(r),
            Ok(address) => self.ask(Pending::Rcpt, Decision::Rcpt { address }),
        }
    }

    fn data(&mut self, arg: &[u8]) {
        if !arg.is_empty() {
            return self.syntax("DATA takes no argument");
        }
        if !self.txn.mail {
            return self.sequence("need MAIL before DATA");
        }
        if self.txn.body.is_some() {
            return self.sequence("DATA after BDAT");
        }
        if self.txn.rcpts == 0 {
            return self.reply(Reply::new(554, "5.5.1", "no valid recipients"));
        }
        self.ask(Pending::DataStart { bdat: None }, Decision::DataStart { bdat: false });
    }

    fn bdat(&mut self, arg: &[u8]) {
        let Some((size, last)) = bdat_args(arg) else { return self.syntax("syntax: BDAT size [LAST]") };
        let refuse = if !self.settings.chunking {
            Some(Reply::new(502, "5.5.1", "CHUNKING not offered"))
        } else if !self.txn.mail {
            Some(Reply::new(503, "5.5.1", "need MAIL before BDAT"))
        } else if self.txn.rcpts == 0 {
            Some(Reply::new(554, "5.5.1", "no valid recipients"))
        } else {
            None
        };
        match refuse {
            Some(reply) => self.mode = Mode::Discard { remaining: size, reply },
            None if self.txn.body.is_some() => self.mode = Mode::Bdat { remaining: size, last, size },
            None => self.ask(Pending::DataStart { bdat: Some((size, last)) }, Decision::DataStart { bdat: true }),
        }
    }

    fn start_tls(&mut self, arg: &[u8]) {
        if !self.settings.starttls || self.tls {
            return self.reply(Reply::new(502, "5.5.1", "STARTTLS not available"));
        }
        if !arg.is_empty() {
            return self.syntax("STARTTLS takes no argument");
        }
        if self.txn.mail {
            return self.sequence("STARTTLS inside a mail transaction");
        }
        self.reply(Reply::new(220, "2.0.0", "ready to start TLS"));
        // CVE-2011-0411: nothing read in plaintext may be taken as said under TLS.
        self.mode = Mode::AwaitTls;
        self.starttls = true;
        self.discard_input();
    }

    fn auth(&mut self, arg: &[u8]) {
        if !self.settings.auth {
            return self.reply(Reply::new(502, "5.5.1", "AUTH not available"));
        }
        if !self.auth_offered() {
            return self.reply(Reply::new(538, "5.7.11", "encryption required for authentication: STARTTLS first"));
        }
        if self.authenticated || self.txn.mail {
            return self.sequence("AUTH not allowed now");
        }
        let Some((mechanism, initial)) = auth_args(arg) else { return self.syntax("syntax: AUTH mechanism") };
        let initial = initial.map(|i| if i == b"=" { &b""[..] } else { i });
        if mechanism.eq_ignore_ascii_case(b"PLAIN") {
            match initial {
                Some(i) => self.auth_plain(i),
                None => self.challenge(Mode::AuthPlain, ""),
            }
        } else if mechanism.eq_ignore_ascii_case(b"LOGIN") {
            match initial {
                Some(i) => self.auth_login_user(i),
                None => self.challenge(Mode::AuthLoginUser, "VXNlcm5hbWU6"),
            }
        } else {
            self.reply(Reply::new(504, "5.5.4", "unrecognized authentication mechanism"));
        }
    }

    fn challenge(&mut self, mode: Mode, text: &str) {
        self.mode = mode;
        self.reply(Reply::new(334, "", text));
    }

    /// Decodes one SASL response; `None` after replying when it is "*" or bad base64.
    fn sasl(&mut self, line: &[u8]) -> Option<Vec<u8>> {
        if line == b"*" {
            self.reply(Reply::new(501, "5.7.0", "authentication cancelled"));
            return None;
        }
        let decoded = decode_base64(line);
        if decoded.is_none() {
            self.reply(Reply::new(501, "5.5.2", "bad base64 in authentication"));
        }
        decoded
    }

    pub(crate) fn auth_plain(&mut self, line: &[u8]) {
        let Some(message) = self.sasl(line) else { return };
        match split_plain(&message) {
            Ok((user, password)) => self.ask_auth(Mechanism::Plain, user, password),
            Err(e) => self.credential_error(e),
        }
    }

    pub(crate) fn auth_login_user(&mut self, line: &[u8]) {
        let Some(user) = self.sasl(line) else { return };
        match text(&user) {
            Ok(user) => self.challenge(Mode::AuthLoginPass(user), "UGFzc3dvcmQ6"),
            Err(e) => self.credential_error(e),
        }
    }

    pub(crate) fn auth_login_pass(&mut self, user: String, line: &[u8]) {
        let Some(password) = self.sasl(line) else { return };
        match text(&password) {
            Ok(password) => self.ask_auth(Mechanism::Login, user, password),
            Err(e) => self.credential_error(e),
        }
    }

    fn ask_auth(&mut self, mechanism: Mechanism, user: String, password: String) {
        self.ask(Pending::Auth, Decision::Auth { mechanism, user, password });
    }

    fn credential_error(&mut self, e: CredentialError) {
        match e {
            CredentialError::Syntax => self.reply(Reply::new(501, "5.5.2", "bad authentication message")),
            CredentialError::ForeignAuthzid => self.reply(Reply::new(535, "5.7.8", "authorization identity refused")),
        }
    }
}
