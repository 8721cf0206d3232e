/*
 * getdents DIR BUFSIZE - lists DIR with raw getdents64 calls into a BUFSIZE-byte buffer and prints
 * one line per entry, in the order the filesystem returned them: name, d_ino, d_type (tab-separated).
 * A small BUFSIZE makes the kernel resume the listing at almost every entry, which on a FUSE mount
 * means READDIR(PLUS) requests starting at arbitrary offsets (the driver's cookies).
 * Exit: 0, 1 on an error (message on stderr), 2 usage.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

struct dirent64_raw {
  uint64_t d_ino;
  int64_t d_off;
  unsigned short d_reclen;
  unsigned char d_type;
  char d_name[];
};

int main(int argc, char** argv) {
  if (argc != 3 || atoi(argv[2]) < 1) {
    fprintf(stderr, "usage: getdents DIR BUFSIZE\n");
    return 2;
  }
  const size_t size = (size_t)atoi(argv[2]);
  char* buf = malloc(size);
  const int fd = open(argv[1], O_RDONLY | O_DIRECTORY);
  if (buf == NULL || fd < 0) {
    fprintf(stderr, "getdents: %s: %s\n", argv[1], strerror(errno));
    return 1;
  }
  for (;;) {
    const long n = syscall(SYS_getdents64, fd, buf, size);
    if (n < 0) {
      fprintf(stderr, "getdents: %s: %s\n", argv[1], strerror(errno));
      return 1;
    }
    if (n == 0) break;
    for (long pos = 0; pos < n;) {
      const struct dirent64_raw* d = (const struct dirent64_raw*)(buf + pos);
      printf("%s\t%llu\t%u\n", d->d_name, (unsigned long long)d->d_ino, d->d_type);
      pos += d->d_reclen;
    }
  }
  close(fd);
  free(buf);
  return 0;
}
