package netem

// sysSetns is setns(2)'s number, which package syscall lacks on 386.
const sysSetns = 346
