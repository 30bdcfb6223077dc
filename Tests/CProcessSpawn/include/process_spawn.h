// posix_spawn for the test helpers, with what Foundation's Process does not give on Linux: the child inherits
// only descriptors 0, 1 and 2 (posix_spawn_file_actions_addclosefrom_np, glibc 2.34), starts in its own
// working folder (posix_spawn_file_actions_addchdir_np, glibc 2.29) and process group, with default signal
// dispositions and an empty signal mask.
#ifndef SONARLAB_PROCESS_SPAWN_H
#define SONARLAB_PROCESS_SPAWN_H

#include <sys/types.h>

/// Starts `path` (an absolute path) with `argv` and `envp` (both NULL-terminated) in `directory` (NULL: the
/// caller's), with `stdin_fd`, `stdout_fd` and `stderr_fd` as its descriptors 0, 1 and 2.
/// Returns 0 and sets `*pid`, or the errno value of the failure (posix_spawn(3)).
int sonarlab_spawn(pid_t *pid, const char *path, char *const argv[], char *const envp[], const char *directory,
                   int stdin_fd, int stdout_fd, int stderr_fd);

/// pipe2(fds, O_CLOEXEC): a pipe that no child started by anyone else inherits. Returns 0, or -1 and errno.
int sonarlab_pipe_cloexec(int fds[2]);

#endif
