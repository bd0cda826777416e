//! Decisions answered and body boundaries: what a policy answer does to the session, how a
//! body starts (354 for DATA, nothing for BDAT) and ends (the `DataEnd` decision with the
//! engine's own refusal, most fundamental reason first).
//!
//! Refusals at the end of a body: bare CR/LF -> 554 5.6.0; over databytes -> 552 5.3.4;
//! a text line too long -> 500 5.5.2; more hops than max_hops -> 554 5.4.6; the sink
//! failed -> 451 4.3.0 (a local failure is never 5xx). A refusal overrides the answer.

use crate::body::{BodyDecoder, BodyReport, BodySink};
use crate::reply::Reply;
use crate::session::{Decision, Mode, Pending, Session, Txn};

impl Session {
    /// The body is complete: report it and wait for the commit's answer.
    pub(crate) fn end_body(&mut self, sink: &mut dyn BodySink) {
        let Some(decoder) = self.txn.body.take() else { return };
        let report = decoder.finish(sink);
        let refusal = self.refusal(&report);
        self.mode = Mode::Command;
        let decision = Decision::DataEnd { size: report.size, hops: report.hops, refusal: refusal.clone() };
        self.ask(Pending::DataEnd { refusal }, decision);
    }

    /// Why a received body must be refused, most fundamental reason first.
    fn refusal(&self, r: &BodyReport) -> Option<Reply> {
        if r.bare_line_end {
            return Some(Reply::new(554, "5.6.0", "message refused: bare CR or LF in data (smuggling protection)"));
        }
        if r.too_big {
            return Some(Reply::new(552, "5.3.4", "message size exceeds my databytes limit"));
        }
        if r.long_line {
            return Some(Reply::new(500, "5.5.2", "message has a line too long"));
        }
        if r.hops > self.settings.max_hops {
            return Some(Reply::new(554, "5.4.6", "too many hops, this message is looping"));
        }
        // Any local failure is 451 4.3.0 (never 5xx): the client keeps the message and retries.
        let f = r.sink_failure.as_ref()?;
        Some(Reply::new(451, "4.3.0", format!("local error writing the message: {} (#{})", f.text, f.status)))
    }

    pub(crate) fn apply(&mut self, pending: Pending, reply: Reply) {
        let positive = reply.is_positive();
        match pending {
            Pending::Mail { smtputf8 } if positive => self.txn = Txn { mail: true, smtputf8, ..Txn::default() },
            Pending::Rcpt if positive => self.txn.rcpts += 1,
            Pending::Auth if positive => self.authenticated = true,
            Pending::DataStart { bdat } if positive => return self.start_body(bdat),
            Pending::DataStart { bdat: Some((size, _)) } => {
                self.mode = Mode::Discard { remaining: size, reply };
                return;
            }
            // A client looping on ETRN is held by the junk allowance, as Postfix does.
            Pending::Etrn => return self.junk(reply),
            Pending::Helo { name, ehlo } if positive => return self.greet(ehlo, name),
            Pending::DataEnd { refusal } => {
                self.txn = Txn::default();
                let r = refusal.unwrap_or(reply);
                if r.is_positive() {
                    self.reset_junk();
                }
                return self.reply(r);
            }
            _ => {}
        }
        self.reply(reply);
    }

    fn start_body(&mut self, bdat: Option<(u64, bool)>) {
        let s = &self.settings;
        self.txn.body = Some(BodyDecoder::new(bdat.is_none(), s.databytes, s.max_text_line));
        match bdat {
            None => {
                self.mode = Mode::Data;
                self.reply(Reply::new(354, "", "end data with <CR><LF>.<CR><LF>"));
            }
            Some((size, last)) => self.mode = Mode::Bdat { remaining: size, last, size },
        }
    }
}
