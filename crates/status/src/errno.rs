//! The errno table: which operating-system errors are temporary and which permanent.
//!
//! | errno            | class     | status | why                                                    |
//! |------------------|-----------|--------|--------------------------------------------------------|
//! | ENOSPC           | temporary | 4.3.1  | disk full: space comes back, the message must wait     |
//! | EDQUOT           | temporary | 4.2.2  | over quota: the owner can make room (qmail: temporary) |
//! | EFBIG            | permanent | 5.2.2  | file too large: the mailbox hit the file-size limit, retrying cannot help |
//! | EROFS            | temporary | 4.3.0  | read-only filesystem: an admin remounts it             |
//! | EACCES, EPERM    | temporary | 4.3.0  | permissions: a configuration error an admin fixes      |
//! | ENOENT, ENOTDIR  | temporary | 4.2.1  | missing folder: may be created by the admin            |
//! | ELOOP            | temporary | 4.7.0  | a symlink where none is allowed: policy, admin fixes   |
//! | ENOMEM, EMFILE, ENFILE, EAGAIN, EINTR, EIO, ESTALE, anything else | temporary | 4.3.0 | unknown means temporary |
//!
//! Only EFBIG is permanent: every other error can go away without the sender's help,
//! and calling a temporary error permanent loses mail.

use crate::Class;

/// The class and status detail ("x.y") for an errno; `None` (not an OS error) is temporary.
pub fn class_of_errno(errno: Option<i32>) -> (Class, &'static str) {
    match errno {
        Some(libc::ENOSPC) => (Class::Temporary, "3.1"),
        Some(libc::EDQUOT) => (Class::Temporary, "2.2"),
        Some(libc::EFBIG) => (Class::Permanent, "2.2"),
        Some(libc::ENOENT) | Some(libc::ENOTDIR) => (Class::Temporary, "2.1"),
        Some(libc::ELOOP) => (Class::Temporary, "7.0"),
        _ => (Class::Temporary, "3.0"),
    }
}
