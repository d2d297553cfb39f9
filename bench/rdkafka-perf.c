/*
 * rdkafka-perf: a load generator for Sluice (or any Kafka broker) on librdkafka, used by
 * bench/wire.ts. Written against the API documented in <librdkafka/rdkafka.h>.
 *
 *   rdkafka-perf produce -b HOST:PORT -t TOPIC [-n RECORDS] [-s BYTES] [-z CODEC] [-a ACKS]
 *                        [-l LINGER_MS] [-B BATCH_BYTES] [-S SAMPLE_EVERY] [-r RECORDS_PER_SEC]
 *   rdkafka-perf consume -b HOST:PORT -t TOPIC [-n RECORDS] [-s BYTES]
 *   rdkafka-perf e2e     -b HOST:PORT -t TOPIC -r RECORDS_PER_SEC [-n RECORDS] [-s BYTES] [-z CODEC]
 *                        [-a ACKS] [-l LINGER_MS]
 *
 * Producer: RECORDS keyless records of BYTES bytes each (JSON log lines, varied, generated
 * once into a pool that librdkafka references without copying), sent round robin over the
 * topic's partitions as fast as the client queue allows. Time runs from the first produce
 * to the last delivery report; every SAMPLE_EVERY-th record carries its enqueue time as
 * its opaque and its delivery report adds one latency sample (enqueue -> report). Flat out,
 * that latency is mostly time spent queued in the client; -r paces the producer to a fixed
 * rate so the latency is the broker's.
 * Consumer: assigns every partition from the beginning (no group join), reads until
 * RECORDS records arrived, checks each payload's length. Time runs from assign to the
 * last record.
 *
 * End to end (e2e): a producer paced at RECORDS_PER_SEC and a consumer (its own thread,
 * assigned every partition of the fresh topic from the beginning) in one process, so both
 * read the same clock. Each record's first 8 bytes are its send time (CLOCK_MONOTONIC, ns);
 * the consumer takes one latency sample per record: produce call -> consumed. This is
 * OpenMessaging's end-to-end latency, and Kafka's EndToEndLatency tool's, at a fixed rate.
 *
 * Output: one JSON line on stdout. Exit status 1 on any delivery or consume error.
 * Build: cc -O2 -o build/rdkafka-perf bench/rdkafka-perf.c -lrdkafka -lpthread
 */
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include <librdkafka/rdkafka.h>

#define POOL_RECORDS 65536 /* distinct payloads (6.5 MB at 100 bytes, more than a batch), reused round robin */
#define CONSUME_BATCH 10000 /* messages taken per rd_kafka_consume_batch_queue call */
#define STALL_MS 30000 /* give up when nothing arrives for this long */

struct options {
  const char *mode, *brokers, *topic, *codec, *acks;
  long records, record_bytes, linger_ms, batch_bytes, sample_every, rate;
  int linger_given; /* -l was given: e2e otherwise sends each record at once (linger.ms 0) */
};

/* Producer state shared with the delivery report callback (librdkafka calls it from
 * rd_kafka_poll/rd_kafka_flush on this thread, so no locking). */
struct delivery {
  long delivered, errors, samples_taken;
  double last_report;
  double *samples; /* latency in ms */
  char first_error[256];
};

static void die(const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  fprintf(stderr, "rdkafka-perf: ");
  vfprintf(stderr, fmt, ap);
  fprintf(stderr, "\n");
  va_end(ap);
  exit(1);
}

static double now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

/* CPU seconds (user + system) this process used so far, all of librdkafka's threads included. */
static double cpu_seconds(void) {
  struct rusage ru;
  getrusage(RUSAGE_SELF, &ru);
  return ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 + ru.ru_stime.tv_sec + ru.ru_stime.tv_usec / 1e6;
}

static void set(rd_kafka_conf_t *conf, const char *name, const char *value) {
  char err[512];
  if (rd_kafka_conf_set(conf, name, value, err, sizeof err) != RD_KAFKA_CONF_OK) die("config %s=%s: %s", name, value, err);
}

static void setl(rd_kafka_conf_t *conf, const char *name, long value) {
  char buf[32];
  snprintf(buf, sizeof buf, "%ld", value);
  set(conf, name, buf);
}

/* A tiny LCG so the payloads are the same on every run. */
static uint32_t lcg_state = 12345;
static uint32_t rnd(uint32_t n) {
  lcg_state = lcg_state * 1103515245u + 12345u;
  return (lcg_state >> 8) % n;
}

static void hex(char *out, int n) {
  for (int i = 0; i < n; i++) out[i] = "0123456789abcdef"[rnd(16)];
  out[n] = 0;
}

/* POOL_RECORDS records of JSON log lines like {"ts":...,"lvl":"info","path":"/v1/orders/3fa9...",...},
 * as many lines as fit, cut or padded with spaces to exactly `bytes`. One allocation; record i at i*bytes. */
static char *make_payloads(long bytes) {
  static const char *levels[] = {"info", "info", "info", "warn", "debug", "error"};
  static const char *paths[] = {"/v1/orders/", "/v1/users/", "/health", "/v2/cart/", "/v1/search?q="};
  char *pool = malloc((size_t)POOL_RECORDS * bytes);
  if (!pool) die("out of memory for the payload pool");
  char line[512], id[16], req[16];
  for (long i = 0; i < POOL_RECORDS; i++) {
    /* Records longer than one line hold several lines, newline separated, like a batch of
     * log lines (padding with spaces would make them compress unrealistically well). */
    char *p = pool + i * bytes;
    long filled = 0;
    memset(p, ' ', bytes);
    for (;;) {
      hex(id, 8);
      hex(req, 12);
      int n = snprintf(line, sizeof line, "{\"ts\":%" PRId64 ",\"lvl\":\"%s\",\"path\":\"%s%s\",\"status\":%d,\"ms\":%.1f,\"req\":\"%s\"}",
                       (int64_t)1700000000000 + i * 7, levels[rnd(6)], paths[rnd(5)], id, rnd(10) < 9 ? 200 : 503,
                       rnd(1000) / 10.0, req);
      long room = bytes - filled;
      memcpy(p + filled, line, n < room ? n : room);
      filled += n;
      /* Another line when there is room for most of one; the rest stays padded. */
      if (bytes - filled < 40) break;
      p[filled++] = '\n';
    }
  }
  return pool;
}

static void on_delivery(rd_kafka_t *rk, const rd_kafka_message_t *m, void *opaque) {
  (void)rk;
  struct delivery *d = opaque;
  double t = now_ms();
  d->delivered++;
  d->last_report = t;
  if (m->err) {
    if (d->errors++ == 0) snprintf(d->first_error, sizeof d->first_error, "%s", rd_kafka_err2str(m->err));
    return;
  }
  if (m->_private) {
    /* The opaque holds the enqueue time in microseconds (0 = not sampled). */
    double enqueued = (double)(uintptr_t)m->_private / 1e3;
    d->samples[d->samples_taken++] = t - enqueued;
  }
}

/* Waits until the broker reports the topic with its partitions (producing to an unknown
 * topic asks the broker to auto-create it); returns the partition count. */
static int partition_count(rd_kafka_t *rk, rd_kafka_topic_t *rkt) {
  for (int attempt = 0; attempt < 100; attempt++) {
    const struct rd_kafka_metadata *md;
    rd_kafka_resp_err_t err = rd_kafka_metadata(rk, 0, rkt, &md, 5000);
    if (err == RD_KAFKA_RESP_ERR_NO_ERROR) {
      int n = md->topic_cnt == 1 && md->topics[0].err == 0 ? md->topics[0].partition_cnt : 0;
      rd_kafka_metadata_destroy(md);
      if (n > 0) return n;
    }
    usleep(100 * 1000);
  }
  die("topic %s has no partitions after 10 s", rd_kafka_topic_name(rkt));
  return 0;
}

static int compare_double(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return x < y ? -1 : x > y;
}

static double quantile(const double *sorted, long n, double q) {
  if (n == 0) return 0;
  long i = (long)(q * n);
  return sorted[i < n ? i : n - 1];
}

/* The producer settings both the throughput and the end-to-end runs use. */
static rd_kafka_conf_t *producer_conf(const struct options *o, struct delivery *d) {
  rd_kafka_conf_t *conf = rd_kafka_conf_new();
  set(conf, "bootstrap.servers", o->brokers);
  set(conf, "compression.codec", o->codec);
  set(conf, "acks", o->acks);
  setl(conf, "linger.ms", o->linger_ms);
  setl(conf, "batch.size", o->batch_bytes);
  setl(conf, "message.max.bytes", o->batch_bytes + 1024 * 1024);
  setl(conf, "queue.buffering.max.messages", 2000000);
  setl(conf, "queue.buffering.max.kbytes", 1024 * 1024);
  rd_kafka_conf_set_dr_msg_cb(conf, on_delivery);
  rd_kafka_conf_set_opaque(conf, d);
  return conf;
}

static int produce(const struct options *o) {
  char *pool = make_payloads(o->record_bytes);
  struct delivery d = {0};
  d.samples = malloc(sizeof(double) * (o->records / o->sample_every + 1));
  if (!d.samples) die("out of memory for latency samples");

  rd_kafka_conf_t *conf = producer_conf(o, &d);
  char err[512];
  rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, err, sizeof err);
  if (!rk) die("producer: %s", err);
  rd_kafka_topic_t *rkt = rd_kafka_topic_new(rk, o->topic, NULL);
  int partitions = partition_count(rk, rkt);

  long queue_full = 0;
  double cpu0 = cpu_seconds();
  double t0 = now_ms();
  for (long i = 0; i < o->records; i++) {
    void *payload = pool + (i % POOL_RECORDS) * o->record_bytes;
    void *opaque = i % o->sample_every == 0 ? (void *)(uintptr_t)(now_ms() * 1e3) : NULL;
    /* Flags 0: librdkafka neither copies nor frees the payload; the pool outlives the run. */
    while (rd_kafka_produce(rkt, (int32_t)(i % partitions), 0, payload, o->record_bytes, NULL, 0, opaque) == -1) {
      rd_kafka_resp_err_t e = rd_kafka_last_error();
      if (e != RD_KAFKA_RESP_ERR__QUEUE_FULL) die("produce: %s", rd_kafka_err2str(e));
      queue_full++;
      rd_kafka_poll(rk, 1); /* the local queue is full: serve delivery reports, then retry */
    }
    if ((i & 1023) == 0) {
      rd_kafka_poll(rk, 0);
      /* Paced: sleep while ahead of schedule (checked every 1024 records, ~1 ms at 1 M/s). */
      if (o->rate > 0) {
        double ahead = t0 + i * 1e3 / o->rate - now_ms();
        if (ahead > 0) usleep((useconds_t)(ahead * 1e3));
      }
    }
  }
  double enqueued = now_ms();
  while (d.delivered < o->records) rd_kafka_poll(rk, 100);
  double seconds = (d.last_report - t0) / 1e3;
  double cpu = cpu_seconds() - cpu0;

  qsort(d.samples, d.samples_taken, sizeof(double), compare_double);
  long n = d.samples_taken;
  printf("{\"mode\":\"produce\",\"records\":%ld,\"bytes\":%ld,\"seconds\":%.6f,\"recordsPerSec\":%.0f,"
         "\"partitions\":%d,\"cpuSeconds\":%.3f,\"errors\":%ld,\"firstError\":\"%s\",\"queueFullRetries\":%ld,\"enqueueSeconds\":%.6f,"
         "\"codec\":\"%s\",\"acks\":\"%s\",\"lingerMs\":%ld,\"batchBytes\":%ld,\"rate\":%ld,"
         "\"latency\":{\"samples\":%ld,\"p50\":%.3f,\"p95\":%.3f,\"p99\":%.3f,\"p999\":%.3f,\"max\":%.3f}}\n",
         o->records, o->records * o->record_bytes, seconds, o->records / seconds, partitions, cpu, d.errors, d.first_error,
         queue_full, (enqueued - t0) / 1e3, o->codec, o->acks, o->linger_ms, o->batch_bytes, o->rate, n,
         quantile(d.samples, n, 0.5), quantile(d.samples, n, 0.95), quantile(d.samples, n, 0.99),
         quantile(d.samples, n, 0.999), n ? d.samples[n - 1] : 0.0);

  rd_kafka_topic_destroy(rkt);
  rd_kafka_destroy(rk);
  free(d.samples);
  free(pool);
  return d.errors == 0 ? 0 : 1;
}

static int consume(const struct options *o) {
  rd_kafka_conf_t *conf = rd_kafka_conf_new();
  set(conf, "bootstrap.servers", o->brokers);
  set(conf, "group.id", "rdkafka-perf"); /* required by the consumer; assign() never joins it */
  set(conf, "enable.auto.commit", "false");
  set(conf, "enable.partition.eof", "false");
  char err[512];
  rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_CONSUMER, conf, err, sizeof err);
  if (!rk) die("consumer: %s", err);

  rd_kafka_topic_t *rkt = rd_kafka_topic_new(rk, o->topic, NULL);
  int partitions = partition_count(rk, rkt);
  rd_kafka_topic_destroy(rkt);
  rd_kafka_topic_partition_list_t *parts = rd_kafka_topic_partition_list_new(partitions);
  for (int p = 0; p < partitions; p++) rd_kafka_topic_partition_list_add(parts, o->topic, p)->offset = RD_KAFKA_OFFSET_BEGINNING;

  rd_kafka_queue_t *queue = rd_kafka_queue_get_consumer(rk);
  rd_kafka_message_t **batch = malloc(sizeof(*batch) * CONSUME_BATCH);
  long count = 0, bad_length = 0, errors = 0;
  int64_t bytes = 0;
  char first_error[256] = "";
  double cpu0 = cpu_seconds();
  double t0 = now_ms(), last = t0;
  rd_kafka_resp_err_t e = rd_kafka_assign(rk, parts);
  if (e) die("assign: %s", rd_kafka_err2str(e));
  rd_kafka_topic_partition_list_destroy(parts);
  while (count < o->records) {
    ssize_t got = rd_kafka_consume_batch_queue(queue, 1000, batch, CONSUME_BATCH);
    if (got < 0) die("consume: %s", rd_kafka_err2str(rd_kafka_last_error()));
    double t = now_ms();
    for (ssize_t i = 0; i < got; i++) {
      rd_kafka_message_t *m = batch[i];
      if (m->err) {
        if (errors++ == 0) snprintf(first_error, sizeof first_error, "%s", rd_kafka_message_errstr(m));
      } else {
        count++;
        bytes += m->len;
        if ((long)m->len != o->record_bytes) bad_length++;
      }
      rd_kafka_message_destroy(m);
    }
    if (got > 0) last = t;
    else if (t - last > STALL_MS) break;
  }
  double seconds = (last - t0) / 1e3;
  double cpu = cpu_seconds() - cpu0;
  printf("{\"mode\":\"consume\",\"records\":%ld,\"bytes\":%" PRId64 ",\"seconds\":%.6f,\"recordsPerSec\":%.0f,"
         "\"partitions\":%d,\"cpuSeconds\":%.3f,\"errors\":%ld,\"firstError\":\"%s\",\"badLength\":%ld,\"expected\":%ld}\n",
         count, bytes, seconds, count / seconds, partitions, cpu, errors, first_error, bad_length, o->records);

  free(batch);
  rd_kafka_queue_destroy(queue);
  rd_kafka_consumer_close(rk);
  rd_kafka_destroy(rk);
  return count == o->records && errors == 0 && bad_length == 0 ? 0 : 1;
}

static int64_t now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* The e2e consumer thread's state; the producer thread only reads `consumed` and `done`. */
struct e2e_consumer {
  const struct options *o;
  int partitions;
  volatile long consumed;
  volatile int stop;
  long errors, samples_taken;
  double *samples; /* latency in ms, one per record */
  char first_error[256];
};

static void *e2e_consume(void *arg) {
  struct e2e_consumer *c = arg;
  const struct options *o = c->o;
  rd_kafka_conf_t *conf = rd_kafka_conf_new();
  set(conf, "bootstrap.servers", o->brokers);
  set(conf, "group.id", "rdkafka-perf-e2e");
  set(conf, "enable.auto.commit", "false");
  set(conf, "enable.partition.eof", "false");
  set(conf, "fetch.wait.max.ms", "100");
  char err[512];
  rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_CONSUMER, conf, err, sizeof err);
  if (!rk) die("consumer: %s", err);
  rd_kafka_topic_partition_list_t *parts = rd_kafka_topic_partition_list_new(c->partitions);
  for (int p = 0; p < c->partitions; p++) rd_kafka_topic_partition_list_add(parts, o->topic, p)->offset = RD_KAFKA_OFFSET_BEGINNING;
  rd_kafka_queue_t *queue = rd_kafka_queue_get_consumer(rk);
  rd_kafka_message_t **batch = malloc(sizeof(*batch) * CONSUME_BATCH);
  if (rd_kafka_assign(rk, parts)) die("assign failed");
  rd_kafka_topic_partition_list_destroy(parts);
  double last = now_ms();
  while (c->consumed < o->records && !c->stop) {
    /* No batching wait: consume_batch_queue waits its whole timeout to fill a batch, which
     * would be added to every record's latency at low rates. consume_queue returns as soon
     * as one message is there; then whatever else has arrived is taken without waiting. */
    ssize_t got = 0;
    rd_kafka_message_t *first = rd_kafka_consume_queue(queue, 100);
    if (first != NULL) {
      batch[0] = first;
      ssize_t more = rd_kafka_consume_batch_queue(queue, 0, batch + 1, CONSUME_BATCH - 1);
      if (more < 0) die("consume: %s", rd_kafka_err2str(rd_kafka_last_error()));
      got = 1 + more;
    }
    int64_t t = now_ns();
    for (ssize_t i = 0; i < got; i++) {
      rd_kafka_message_t *m = batch[i];
      if (m->err) {
        if (c->errors++ == 0) snprintf(c->first_error, sizeof c->first_error, "%s", rd_kafka_message_errstr(m));
      } else if (m->len >= 8) {
        int64_t sent;
        memcpy(&sent, m->payload, 8);
        if (c->samples_taken < o->records) c->samples[c->samples_taken++] = (t - sent) / 1e6;
        c->consumed++;
      }
      rd_kafka_message_destroy(m);
    }
    if (got > 0) last = now_ms();
    else if (now_ms() - last > STALL_MS) break;
  }
  free(batch);
  rd_kafka_queue_destroy(queue);
  rd_kafka_consumer_close(rk);
  rd_kafka_destroy(rk);
  return NULL;
}

static int e2e(const struct options *o) {
  if (o->rate <= 0) die("e2e needs -r RECORDS_PER_SEC");
  if (o->record_bytes < 8) die("e2e needs records of at least 8 bytes (the send time)");
  char *pool = make_payloads(o->record_bytes);
  struct delivery d = {0};
  /* Each record goes out at once unless -l asks for a linger: no producer batching wait. */
  struct options eo = *o;
  if (!o->linger_given) eo.linger_ms = 0;
  rd_kafka_conf_t *conf = producer_conf(&eo, &d);
  d.samples = malloc(sizeof(double));
  char err[512];
  rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, err, sizeof err);
  if (!rk) die("producer: %s", err);
  rd_kafka_topic_t *rkt = rd_kafka_topic_new(rk, o->topic, NULL);
  int partitions = partition_count(rk, rkt);

  struct e2e_consumer c = {.o = o, .partitions = partitions};
  c.samples = malloc(sizeof(double) * o->records);
  if (!c.samples) die("out of memory for latency samples");
  pthread_t thread;
  if (pthread_create(&thread, NULL, e2e_consume, &c) != 0) die("pthread_create failed");
  usleep(300 * 1000); /* let the consumer join its partitions before the clock starts */

  char *buf = malloc(o->record_bytes);
  double t0 = now_ms();
  for (long i = 0; i < o->records; i++) {
    memcpy(buf, pool + (i % POOL_RECORDS) * o->record_bytes, o->record_bytes);
    int64_t sent = now_ns();
    memcpy(buf, &sent, 8);
    while (rd_kafka_produce(rkt, (int32_t)(i % partitions), RD_KAFKA_MSG_F_COPY, buf, o->record_bytes, NULL, 0, NULL) == -1) {
      rd_kafka_resp_err_t e = rd_kafka_last_error();
      if (e != RD_KAFKA_RESP_ERR__QUEUE_FULL) die("produce: %s", rd_kafka_err2str(e));
      rd_kafka_poll(rk, 1);
    }
    /* Paced per record at low rates, per 64 records above 64 k/s (sleeps under ~1 ms are coarse). */
    if (o->rate < 65536 || (i & 63) == 0) {
      rd_kafka_poll(rk, 0);
      double ahead = t0 + (i + 1) * 1e3 / o->rate - now_ms();
      if (ahead > 0) usleep((useconds_t)(ahead * 1e3));
    }
  }
  while (d.delivered < o->records) rd_kafka_poll(rk, 100);
  double produced = now_ms();
  pthread_join(thread, NULL);
  double seconds = (produced - t0) / 1e3;

  qsort(c.samples, c.samples_taken, sizeof(double), compare_double);
  long n = c.samples_taken;
  printf("{\"mode\":\"e2e\",\"records\":%ld,\"bytes\":%ld,\"seconds\":%.6f,\"recordsPerSec\":%.0f,\"rate\":%ld,"
         "\"partitions\":%d,\"cpuSeconds\":0,\"errors\":%ld,\"firstError\":\"%s\",\"consumed\":%ld,"
         "\"latency\":{\"samples\":%ld,\"p50\":%.3f,\"p95\":%.3f,\"p99\":%.3f,\"p999\":%.3f,\"max\":%.3f}}\n",
         o->records, o->records * o->record_bytes, seconds, o->records / seconds, o->rate, partitions, d.errors + c.errors,
         d.errors ? d.first_error : c.first_error, c.consumed, n, quantile(c.samples, n, 0.5), quantile(c.samples, n, 0.95),
         quantile(c.samples, n, 0.99), quantile(c.samples, n, 0.999), n ? c.samples[n - 1] : 0.0);

  rd_kafka_topic_destroy(rkt);
  rd_kafka_destroy(rk);
  free(buf);
  free(c.samples);
  free(d.samples);
  free(pool);
  return d.errors == 0 && c.errors == 0 && c.consumed == o->records ? 0 : 1;
}

static void usage(void) {
  fprintf(stderr,
          "usage: rdkafka-perf produce|consume|e2e -b HOST:PORT -t TOPIC [-n RECORDS] [-s BYTES]\n"
          "       producer only: [-z CODEC (lz4)] [-a ACKS (1)] [-l LINGER_MS (5; e2e 0)] [-B BATCH_BYTES (1048576)]\n"
          "                      [-S SAMPLE_EVERY (16): one latency sample per this many records]\n"
          "                      [-r RECORDS_PER_SEC (0 = as fast as possible)]\n");
  exit(2);
}

int main(int argc, char **argv) {
  struct options o = {.brokers = "127.0.0.1:9092", .topic = "bench", .codec = "lz4", .acks = "1",
                      .records = 1000000, .record_bytes = 100, .linger_ms = 5, .batch_bytes = 1048576, .sample_every = 16};
  if (argc < 2) usage();
  o.mode = argv[1];
  int c;
  optind = 2;
  while ((c = getopt(argc, argv, "b:t:n:s:z:a:l:B:S:r:")) != -1) {
    switch (c) {
      case 'b': o.brokers = optarg; break;
      case 't': o.topic = optarg; break;
      case 'n': o.records = atol(optarg); break;
      case 's': o.record_bytes = atol(optarg); break;
      case 'z': o.codec = optarg; break;
      case 'a': o.acks = optarg; break;
      case 'l': o.linger_ms = atol(optarg); o.linger_given = 1; break;
      case 'B': o.batch_bytes = atol(optarg); break;
      case 'S': o.sample_every = atol(optarg); break;
      case 'r': o.rate = atol(optarg); break;
      default: usage();
    }
  }
  if (o.records <= 0 || o.record_bytes <= 0 || o.sample_every <= 0) usage();
  if (strcmp(o.mode, "produce") == 0) return produce(&o);
  if (strcmp(o.mode, "consume") == 0) return consume(&o);
  if (strcmp(o.mode, "e2e") == 0) return e2e(&o);
  usage();
  return 2;
}
