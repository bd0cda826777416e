// users/: assign lookups, passwords, maintenance. See assign.ts, passwd.ts, manage.ts.
export { formatAssign, loadAssign, lookupUser, parseAssign, tableOf } from './assign.js';
export type { AliasUser, AssignEntry, AssignTable, Assignment } from './assign.js';
export { apopSecret, checkPassword, hashPassword, loginUser, verifyPassword } from './passwd.js';
export { addUser, delUser, listUsers, setPassword } from './manage.js';
export type { AddUserOptions, UserInfo } from './manage.js';
export { writeFileAtomic } from './atomic-write.js';
