/*
 * mdp3-blast: sends a file of datagrams to two multicast groups (CME's lines A and B: each
 * packet to A, then the same bytes to B), from 127.0.0.1 only (IP_MULTICAST_IF 127.0.0.1,
 * TTL 0, loopback on), with sendmmsg in batches, paced to a rate of packets per second per line
 * (0: as fast as the kernel takes them).
 *
 * File format: records of [u32 little-endian length][length bytes], repeated to the end.
 *
 * Usage: mdp3-blast FILE GROUP_A PORT_A GROUP_B PORT_B RATE BATCH [COUNT [WARMUP WARMUP_RATE]]
 * COUNT: send only the file's first COUNT datagrams (default all). WARMUP: the first WARMUP of
 * them go at WARMUP_RATE packets/s per line (a receiver's code warms up on them), the rest at RATE.
 * Prints one JSON line: packets (per line), datagrams, seconds and rate (packets per second per
 * line) of the main phase (after the warm-up; first send to last), the warm-up's packets and
 * seconds, retries (sends the kernel refused for a while: ENOBUFS, EAGAIN), errors, cpu seconds
 * (user, system).
 *
 * Build: gcc -O2 -o mdp3-blast mdp3-blast.c
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

static double now_s(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static void sleep_until(double t) {
  struct timespec ts;
  ts.tv_sec = (time_t)t;
  ts.tv_nsec = (long)((t - (double)ts.tv_sec) * 1e9);
  if (ts.tv_nsec >= 1000000000L) {
    ts.tv_sec++;
    ts.tv_nsec -= 1000000000L;
  }
  while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL) == EINTR) {
  }
}

static void die(const char *what) {
  fprintf(stderr, "mdp3-blast: %s: %s\n", what, strerror(errno));
  exit(2);
}

static struct sockaddr_in destination(const char *group, const char *port) {
  struct sockaddr_in a;
  memset(&a, 0, sizeof a);
  a.sin_family = AF_INET;
  a.sin_port = htons((uint16_t)atoi(port));
  if (inet_pton(AF_INET, group, &a.sin_addr) != 1) {
    fprintf(stderr, "mdp3-blast: expected an IPv4 multicast group, found %s\n", group);
    exit(2);
  }
  if (!IN_MULTICAST(ntohl(a.sin_addr.s_addr))) {
    fprintf(stderr, "mdp3-blast: expected a multicast group (224.0.0.0/4), found %s\n", group);
    exit(2);
  }
  return a;
}

int main(int argc, char **argv) {
  if (argc != 8 && argc != 9 && argc != 11) {
    fprintf(stderr, "usage: %s FILE GROUP_A PORT_A GROUP_B PORT_B RATE BATCH [COUNT [WARMUP WARMUP_RATE]]\n", argv[0]);
    return 2;
  }
  const double rate = atof(argv[6]);
  int batch = atoi(argv[7]);
  if (batch < 1) batch = 1;
  if (batch > 512) batch = 512;
  struct sockaddr_in dst[2] = {destination(argv[2], argv[3]), destination(argv[4], argv[5])};

  /* The whole file in memory, then an index of its datagrams. */
  FILE *f = fopen(argv[1], "rb");
  if (f == NULL) die(argv[1]);
  struct stat st;
  if (fstat(fileno(f), &st) != 0) die("fstat");
  size_t size = (size_t)st.st_size;
  uint8_t *data = malloc(size + 1);
  if (data == NULL) die("malloc");
  if (size > 0 && fread(data, 1, size, f) != size) die("fread");
  fclose(f);
  size_t count = 0;
  for (size_t at = 0; at + 4 <= size;) {
    uint32_t n = (uint32_t)data[at] | (uint32_t)data[at + 1] << 8 | (uint32_t)data[at + 2] << 16 | (uint32_t)data[at + 3] << 24;
    if (at + 4 + n > size) {
      fprintf(stderr, "mdp3-blast: record %zu runs past the end of the file\n", count);
      return 2;
    }
    at += 4 + n;
    count++;
  }
  if (argc >= 9 && atol(argv[8]) > 0 && (size_t)atol(argv[8]) < count) count = (size_t)atol(argv[8]);
  size_t warmup = argc == 11 ? (size_t)atol(argv[9]) : 0;
  const double warmup_rate = argc == 11 ? atof(argv[10]) : 0;
  if (warmup > count) warmup = count;
  struct iovec *iov = malloc((count + 1) * sizeof *iov);
  if (iov == NULL) die("malloc");
  {
    size_t i = 0;
    for (size_t at = 0; at + 4 <= size && i < count; i++) {
      uint32_t n = (uint32_t)data[at] | (uint32_t)data[at + 1] << 8 | (uint32_t)data[at + 2] << 16 | (uint32_t)data[at + 3] << 24;
      iov[i].iov_base = data + at + 4;
      iov[i].iov_len = n;
      at += 4 + n;
    }
  }

  /* One socket from the loopback interface; nothing leaves the host. */
  int s = socket(AF_INET, SOCK_DGRAM, 0);
  if (s < 0) die("socket");
  struct sockaddr_in local;
  memset(&local, 0, sizeof local);
  local.sin_family = AF_INET;
  local.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (bind(s, (struct sockaddr *)&local, sizeof local) != 0) die("bind 127.0.0.1");
  struct in_addr iface;
  iface.s_addr = htonl(INADDR_LOOPBACK);
  if (setsockopt(s, IPPROTO_IP, IP_MULTICAST_IF, &iface, sizeof iface) != 0) die("IP_MULTICAST_IF");
  unsigned char ttl = 0, loop = 1;
  if (setsockopt(s, IPPROTO_IP, IP_MULTICAST_TTL, &ttl, sizeof ttl) != 0) die("IP_MULTICAST_TTL");
  if (setsockopt(s, IPPROTO_IP, IP_MULTICAST_LOOP, &loop, sizeof loop) != 0) die("IP_MULTICAST_LOOP");
  int sndbuf = 4 << 20;
  setsockopt(s, SOL_SOCKET, SO_SNDBUF, &sndbuf, sizeof sndbuf);
  /* Sleeps end close to their deadline (the default slack is 50 us). */
  prctl(PR_SET_TIMERSLACK, 1000UL, 0, 0, 0);

  struct mmsghdr *msgs = calloc((size_t)batch * 2, sizeof *msgs);
  if (msgs == NULL) die("calloc");
  unsigned long long retries = 0, errors = 0;
  int last_errno = 0;
  double t0 = now_s();
  double first = 0, last = t0, warm_first = t0, warm_seconds = 0;
  for (size_t i = 0; i < count;) {
    size_t end = i < warmup ? warmup : count;
    size_t n = end - i < (size_t)batch ? end - i : (size_t)batch;
    /* Packet i is due at t0 + i / rate (from the phase's start): a batch waits for its first
     * packet's time. Late batches go at once (the average rate holds; the catch-up is a burst). */
    if (i < warmup) {
      if (i == 0) warm_first = t0 = now_s();
      if (warmup_rate > 0) {
        double due = t0 + (double)i / warmup_rate;
        if (due > now_s()) sleep_until(due);
      }
    } else {
      if (i == warmup) {
        if (warmup > 0) warm_seconds = now_s() - warm_first;
        t0 = now_s();
      }
      if (rate > 0) {
        double due = t0 + (double)(i - warmup) / rate;
        if (due > now_s()) sleep_until(due);
      }
    }
    for (size_t k = 0; k < n; k++) {
      for (int line = 0; line < 2; line++) {
        struct msghdr *h = &msgs[2 * k + (size_t)line].msg_hdr;
        memset(h, 0, sizeof *h);
        h->msg_name = &dst[line];
        h->msg_namelen = sizeof dst[line];
        h->msg_iov = &iov[i + k];
        h->msg_iovlen = 1;
      }
    }
    if (i == warmup) first = now_s();
    size_t done = 0, want = 2 * n;
    while (done < want) {
      int r = sendmmsg(s, msgs + done, (unsigned)(want - done), 0);
      if (r > 0) {
        done += (size_t)r;
      } else if (r < 0 && (errno == ENOBUFS || errno == EAGAIN || errno == EINTR)) {
        /* The kernel is out of buffers for a moment: the datagram is sent again, not lost. */
        retries++;
        last_errno = errno;
        struct timespec pause = {0, 20000};
        nanosleep(&pause, NULL);
      } else {
        /* Anything else: this datagram is given up (counted), the batch goes on. */
        errors++;
        last_errno = errno;
        done++;
      }
    }
    i += n;
    last = now_s();
  }
  if (warmup == count) {
    /* All warm-up: the warm-up is the run. */
    warm_seconds = last - warm_first;
    first = warm_first;
  }
  size_t main_packets = warmup == count ? count : count - warmup;
  double seconds = last - first;
  struct rusage ru;
  getrusage(RUSAGE_SELF, &ru);
  printf(
      "{\"packets\":%zu,\"datagrams\":%zu,\"seconds\":%.6f,\"rate\":%.0f,\"targetRate\":%.0f,\"batch\":%d,"
      "\"warmupPackets\":%zu,\"warmupSeconds\":%.6f,"
      "\"retries\":%llu,\"errors\":%llu,\"lastErrno\":%d,\"cpuUser\":%.3f,\"cpuSystem\":%.3f}\n",
      count, 2 * count, seconds, seconds > 0 ? (double)main_packets / seconds : 0.0, rate, batch, warmup, warm_seconds, retries, errors, last_errno,
      (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6, (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6);
  close(s);
  free(msgs);
  free(iov);
  free(data);
  return errors == 0 ? 0 : 1;
}
