//! Session settings: limits and which extensions are offered. Plain data; the listener
//! (ts/smtpd) fills it from control/ files per connection.

/// What a session offers and the limits it enforces.
#[derive(Clone, Debug)]
pub struct Settings {
    /// Host name in the greeting and the EHLO reply (control/me, smtpgreeting).
    pub hostname: String,
    /// Maximum stored message size in bytes (control/databytes); 0 = unlimited.
    pub databytes: u64,
    /// Longest command line, CR LF included (RFC 5321 §4.5.3.1.4: 512).
    pub max_command_line: usize,
    /// Longest AUTH line (initial response or continuation), CR LF included.
    pub max_auth_line: usize,
    /// Longest text line in DATA, CR LF included (RFC 5321: 1,000); 0 = unlimited.
    pub max_text_line: usize,
    /// Accepted recipients per message before 452 4.5.3.
    pub max_rcpts: usize,
    /// Error replies after which the session says 421 and closes.
    pub max_errors: u32,
    /// NOOP/RSET/VRFY/HELP commands per message before each one counts as an error
    /// (Postfix's smtpd_junk_command_limit); reset when a message is accepted.
    pub max_junk: u32,
    /// More Received/Delivered header lines than this: 554 5.4.6.
    pub max_hops: u32,
    /// Pipelined input held while a decision is pending, beyond which the session closes.
    pub max_held: usize,
    /// Offer STARTTLS (a certificate is configured and the session is not yet TLS).
    pub starttls: bool,
    /// The session already runs over TLS (implicit TLS port).
    pub tls: bool,
    /// Offer AUTH PLAIN and LOGIN (only once TLS is up unless `auth_without_tls`).
    pub auth: bool,
    /// Offer AUTH over plaintext too (loopback testing only).
    pub auth_without_tls: bool,
    /// Offer CHUNKING (BDAT); sites may turn it off (smuggling hardening).
    pub chunking: bool,
    /// Offer ETRN (RFC 1985): the policy side has passive queues it can start.
    pub etrn: bool,
    /// Ask the policy side at EHLO/HELO (`Decision::Helo`; an embedder's hook wants it).
    pub ask_helo: bool,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            hostname: "localhost".into(),
            databytes: 0,
            max_command_line: 512,
            max_auth_line: 12_288,
            max_text_line: 1_000,
            max_rcpts: 100,
            max_errors: 20,
            max_junk: 100,
            max_hops: 100,
            max_held: 1 << 20,
            starttls: false,
            tls: false,
            auth: false,
            auth_without_tls: false,
            chunking: true,
            etrn: false,
            ask_helo: false,
        }
    }
}
