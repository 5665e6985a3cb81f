// Test-only helper for test/privilege/token.test.ts (compiled by the test): the setup of a
// BPF token the way the kernel's selftests (prog_tests/token.c) make one. This process
// (root in the initial user namespace) forks a child that enters a new user namespace
// (uid/gid 0 inside = 65534 outside, mapped by this parent) and a new mount namespace,
// and fsopen()s a bpffs there; the parent sets the delegate_* options on it (only a
// privileged process may) and fsmount()s it; the child moves the mount to MOUNTPOINT and
// execs the command, which creates the token from it (BpfObject.open's bpfToken option).
// In a chroot (the kernel-matrix guests) see leave_chroot().
//
//   token-helper MOUNTPOINT DELEGATE command [args...]
//     DELEGATE: 'all' (every command, map, program and attach type) or 'none'
//
// A failure of the setup prints "token-helper: STEP: ERRNO_NAME" to stderr and exits 90;
// otherwise the exit status is the command's.
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

static const char *errno_name(int e) {
  switch (e) {
    case EPERM: return "EPERM";
    case EINVAL: return "EINVAL";
    case ENOENT: return "ENOENT";
    case ENOSYS: return "ENOSYS";
    case EACCES: return "EACCES";
    case ENODEV: return "ENODEV";
    case EOPNOTSUPP: return "EOPNOTSUPP";
    default: return "EOTHER";
  }
}

static void fail(const char *step) {
  fprintf(stderr, "token-helper: %s: %s (%s)\n", step, errno_name(errno), strerror(errno));
  exit(90);
}

static void send_fd(int sock, int fd) {
  char byte = fd < 0 ? (char)-fd : 0;  // an errno instead of an fd
  struct iovec iov = {.iov_base = &byte, .iov_len = 1};
  union { char buf[CMSG_SPACE(sizeof(int))]; struct cmsghdr align; } u;
  struct msghdr msg = {.msg_iov = &iov, .msg_iovlen = 1};
  if (fd >= 0) {
    msg.msg_control = u.buf;
    msg.msg_controllen = sizeof(u.buf);
    struct cmsghdr *c = CMSG_FIRSTHDR(&msg);
    c->cmsg_level = SOL_SOCKET;
    c->cmsg_type = SCM_RIGHTS;
    c->cmsg_len = CMSG_LEN(sizeof(int));
    memcpy(CMSG_DATA(c), &fd, sizeof(int));
  }
  if (sendmsg(sock, &msg, 0) != 1) fail("sendmsg");
}

// An fd, or -errno when the other side sent its failure instead.
static int recv_fd(int sock) {
  char byte = 0;
  struct iovec iov = {.iov_base = &byte, .iov_len = 1};
  union { char buf[CMSG_SPACE(sizeof(int))]; struct cmsghdr align; } u;
  struct msghdr msg = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = u.buf, .msg_controllen = sizeof(u.buf)};
  if (recvmsg(sock, &msg, 0) != 1) fail("recvmsg");
  if (byte) return -byte;
  struct cmsghdr *c = CMSG_FIRSTHDR(&msg);
  if (!c || c->cmsg_type != SCM_RIGHTS) { errno = EPROTO; fail("recvmsg"); }
  int fd;
  memcpy(&fd, CMSG_DATA(c), sizeof(int));
  return fd;
}

static void write_file(const char *path, const char *text) {
  int fd = open(path, O_WRONLY | O_CLOEXEC);
  if (fd < 0 || write(fd, text, strlen(text)) != (ssize_t)strlen(text)) fail(path);
  close(fd);
}

// unshare(CLONE_NEWUSER) refuses a chrooted caller (EPERM), and the kernel-matrix guests
// run the tests chrooted into the host's files. There (where a probe child cannot unshare)
// this process steps out to PID 1's root, the mount namespace's; the child re-enters the
// old root by its path, in its own user and mount namespaces (chroot is allowed there).
static char old_root[4096];
static char old_cwd[4096];

static int userns_allowed(void) {
  pid_t pid = fork();
  if (pid < 0) fail("fork");
  if (pid == 0) _exit(unshare(CLONE_NEWUSER) == 0 ? 0 : 1);
  int status;
  if (waitpid(pid, &status, 0) != pid) fail("waitpid");
  return WIFEXITED(status) && WEXITSTATUS(status) == 0;
}

static void leave_chroot(void) {
  if (userns_allowed()) return;
  if (!getcwd(old_cwd, sizeof(old_cwd))) fail("getcwd");
  int root = open("/", O_PATH | O_DIRECTORY | O_CLOEXEC);
  int ns_root = open("/proc/1/root", O_PATH | O_DIRECTORY | O_CLOEXEC);
  if (root < 0 || ns_root < 0) fail("open(/proc/1/root)");
  if (fchdir(ns_root) != 0 || chroot(".") != 0) fail("chroot(/proc/1/root)");
  char link[64];
  snprintf(link, sizeof(link), "/proc/self/fd/%d", root);
  ssize_t n = readlink(link, old_root, sizeof(old_root) - 1);  // now relative to the real root
  if (n <= 0) fail("readlink(old root)");
  old_root[n] = '\0';
  close(root);
  close(ns_root);
}

static void reenter_chroot(void) {
  if (!old_root[0]) return;
  if (chroot(old_root) != 0 || chdir(old_cwd) != 0) fail("chroot back");
}

static int child(int sock, const char *mountpoint, char **argv) {
  char go;
  if (unshare(CLONE_NEWUSER) != 0) fail("unshare(CLONE_NEWUSER)");
  if (write(sock, "u", 1) != 1 || read(sock, &go, 1) != 1) fail("uid map handshake");  // the parent maps our ids
  if (setresgid(0, 0, 0) != 0 || setresuid(0, 0, 0) != 0) fail("setresuid");
  if (unshare(CLONE_NEWNS) != 0) fail("unshare(CLONE_NEWNS)");
  if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) != 0) fail("mount(MS_PRIVATE)");
  reenter_chroot();
  int fs = syscall(SYS_fsopen, "bpf", 0);
  if (fs < 0) {
    int e = errno;
    send_fd(sock, -e);
    errno = e;
    fail("fsopen(bpf) in the user namespace");
  }
  send_fd(sock, fs);
  int mnt = recv_fd(sock);
  if (mnt < 0) exit(90);  // the parent said why
  if (syscall(SYS_move_mount, mnt, "", AT_FDCWD, mountpoint, MOVE_MOUNT_F_EMPTY_PATH) != 0) fail("move_mount");
  close(mnt);
  close(fs);
  close(sock);
  execvp(argv[0], argv);
  fail("execvp");
  return 90;
}

static int configure(int fs, const char *delegate) {
  const char *keys[] = {"delegate_cmds", "delegate_maps", "delegate_progs", "delegate_attachs"};
  if (strcmp(delegate, "all") == 0) {
    for (int i = 0; i < 4; i++) {
      if (syscall(SYS_fsconfig, fs, FSCONFIG_SET_STRING, keys[i], "0xffffffffffffffff", 0) != 0) {
        fprintf(stderr, "token-helper: fsconfig(%s): %s (%s)\n", keys[i], errno_name(errno), strerror(errno));
        return -errno;
      }
    }
  }
  if (syscall(SYS_fsconfig, fs, FSCONFIG_CMD_CREATE, NULL, NULL, 0) != 0) {
    fprintf(stderr, "token-helper: fsconfig(CREATE): %s (%s)\n", errno_name(errno), strerror(errno));
    return -errno;
  }
  int mnt = syscall(SYS_fsmount, fs, 0, 0);
  if (mnt < 0) {
    fprintf(stderr, "token-helper: fsmount: %s (%s)\n", errno_name(errno), strerror(errno));
    return -errno;
  }
  return mnt;
}

int main(int argc, char **argv) {
  if (argc < 4) {
    fprintf(stderr, "usage: token-helper MOUNTPOINT all|none command [args...]\n");
    return 2;
  }
  leave_chroot();
  int sv[2];
  if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) != 0) fail("socketpair");
  pid_t pid = fork();
  if (pid < 0) fail("fork");
  if (pid == 0) {
    close(sv[0]);
    return child(sv[1], argv[1], argv + 3);
  }
  close(sv[1]);
  char ready;
  if (read(sv[0], &ready, 1) == 1) {
    char path[64];
    snprintf(path, sizeof(path), "/proc/%d/uid_map", pid);
    write_file(path, "0 65534 1");
    snprintf(path, sizeof(path), "/proc/%d/gid_map", pid);
    write_file(path, "0 65534 1");
    if (write(sv[0], "g", 1) != 1) fail("uid map handshake");
    int fs = recv_fd(sv[0]);
    if (fs >= 0) {
      int mnt = configure(fs, argv[2]);
      send_fd(sv[0], mnt);
      if (mnt >= 0) close(mnt);
      close(fs);
    }
  }
  close(sv[0]);
  int status;
  if (waitpid(pid, &status, 0) != pid) fail("waitpid");
  if (WIFSIGNALED(status)) {
    fprintf(stderr, "token-helper: the command died of signal %d\n", WTERMSIG(status));
    return 128 + WTERMSIG(status);
  }
  return WEXITSTATUS(status);
}
