/*
 * ranvier.eventstore._syncer: fsync on a thread that never takes the GIL.
 *
 * Optional, like _native.c; without it the committer runs the same fsyncs in
 * asyncio's worker thread (eventstore/syncer.py picks).
 *
 * Why: a Python worker thread needs the GIL before and after every fsync, and
 * the event loop thread holds it nearly all the time under load. Each hand-off
 * cost the loop thread ~300 us of CPU here (2 vCPUs, ~500 fsyncs/s: the loop's
 * CPU per event rose from ~11 to ~13.5 us), which is why batches had to be held
 * for 10 ms to make fsyncs rare, at the price of latency. This thread runs only
 * C: it waits on its own mutex, calls fdatasync/fsync, and tells the loop by
 * writing to an eventfd the loop watches (add_reader).
 *
 * It also writes the batch's records first, when the log handed them over
 * instead of writing them itself (segments.py, `defer_writes`): a pwrite of a
 * 40 KB record cost the loop thread 20-50 us plus taking the GIL back after it.
 *
 * One request at a time (the committer has at most one fsync in flight):
 *   s = Syncer(); loop.add_reader(s.fileno(), on_ready)
 *   s.submit(data_fds, full_fds, writes=())
 *                                  write each (fd, buffer, offset) of `writes`
 *                                  whole, in order; then fdatasync each of
 *                                  data_fds, then fsync each of full_fds
 *                                  (directories); stops at the first failure
 *   s.result()                     in on_ready: None while the request runs, else
 *                                  0 or the errno of the failed call; collecting
 *                                  it allows the next submit
 *   s.close()                      stops and joins the thread (a running request
 *                                  finishes first)
 *   sync_now(data_fds, full_fds, writes=())
 *                                  the same request on the calling thread, the
 *                                  GIL released meanwhile; returns 0 or the errno
 *                                  (no Syncer needed; the caller's fds and buffers
 *                                  are only used during the call)
 * The caller keeps every fd open until result() returned a value. The buffers
 * are held (PyObject_GetBuffer: a bytearray cannot be resized meanwhile) until
 * result() returns a value or the Syncer is closed; the thread reads them
 * without the GIL, which is safe because nothing may change them while held.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <sched.h>
#include <stdint.h>
#include <sys/eventfd.h>
#include <sys/uio.h>
#include <unistd.h>

#define MAX_FDS 64
#define MAX_WRITES (1 << 22) /* a sanity bound: a batch of 8 MiB holds fewer records */
#define MAX_IOV 1024 /* IOV_MAX on Linux */

/* The CPUs the process could use when this module was imported: the thread
 * takes them back at start, since it starts with its creator's, which is the
 * event loop's single CPU under RANVIER_LOOP_CPU (ranvier/loop_cpu.py). */
static cpu_set_t process_cpus;
static int have_process_cpus;

typedef struct {
    int fd;
    off_t offset;
    Py_buffer view; /* held from submit until the request is collected */
} Write;

enum state { IDLE, QUEUED, RUNNING, DONE };

typedef struct {
    PyObject_HEAD
    pthread_mutex_t mu;
    pthread_cond_t cv;
    pthread_t thread;
    int started;        /* the thread exists and must be joined */
    int stop;           /* guarded by mu */
    enum state state;   /* guarded by mu */
    int ndata, nfull;   /* the request, guarded by mu while QUEUED */
    int fds[MAX_FDS];   /* data fds first, then full ones */
    Write *writes;      /* nwrites of them; the loop thread's again once DONE */
    Py_ssize_t nwrites;
    int error;          /* errno of the request once DONE, else 0 */
    int efd;            /* eventfd the loop reads; -1 once closed */
} Syncer;

static int sync_all(const int *fds, int ndata, int nfull)
{
    for (int i = 0; i < ndata + nfull; i++) {
        int rc = i < ndata ? fdatasync(fds[i]) : fsync(fds[i]);
        if (rc != 0)
            return errno ? errno : EIO;
    }
    return 0;
}

/* Write `n` buffers, all to the fd of the first, at consecutive offsets from its
 * own: one pwritev, finished with pwrite when the kernel took less. */
static int write_run(const Write *w, int n)
{
    struct iovec iov[MAX_IOV];
    size_t total = 0;
    for (int i = 0; i < n; i++) {
        iov[i].iov_base = w[i].view.buf;
        iov[i].iov_len = (size_t)w[i].view.len;
        total += (size_t)w[i].view.len;
    }
    size_t done = 0;
    ssize_t rc;
    do {
        rc = pwritev(w[0].fd, iov, n, w[0].offset);
    } while (rc < 0 && errno == EINTR);
    if (rc < 0)
        return errno ? errno : EIO;
    done = (size_t)rc;
    /* Short write: go on from where it stopped, buffer by buffer. */
    off_t offset = w[0].offset;
    for (int i = 0; i < n && done < total; i++) {
        size_t len = (size_t)w[i].view.len;
        if (done >= len) {
            done -= len;
            offset += (off_t)len;
            total -= len;
            continue;
        }
        const char *p = (const char *)w[i].view.buf + done;
        size_t left = len - done;
        offset += (off_t)done;
        total -= done;
        done = 0;
        while (left > 0) {
            ssize_t r = pwrite(w[i].fd, p, left, offset);
            if (r < 0 && errno == EINTR)
                continue;
            if (r < 0)
                return errno ? errno : EIO;
            if (r == 0)
                return EIO;
            p += r;
            left -= (size_t)r;
            offset += r;
            total -= (size_t)r;
        }
    }
    return 0;
}

static int write_all(const Write *w, Py_ssize_t n)
{
    Py_ssize_t i = 0;
    while (i < n) {
        /* The longest run of contiguous writes to one fd goes in one call. */
        Py_ssize_t j = i + 1;
        off_t next = w[i].offset + (off_t)w[i].view.len;
        while (j < n && j - i < MAX_IOV && w[j].fd == w[i].fd && w[j].offset == next) {
            next += (off_t)w[j].view.len;
            j++;
        }
        int error = write_run(w + i, (int)(j - i));
        if (error)
            return error;
        i = j;
    }
    return 0;
}

static void release_writes(Syncer *self)
{
    for (Py_ssize_t i = 0; i < self->nwrites; i++)
        PyBuffer_Release(&self->writes[i].view);
    PyMem_Free(self->writes);
    self->writes = NULL;
    self->nwrites = 0;
}

static void *run(void *arg)
{
    Syncer *self = arg;
    int fds[MAX_FDS];
    pthread_setname_np(pthread_self(), "ranvier-fsync"); /* for top -H; at most 15 chars */
    if (have_process_cpus)
        (void)sched_setaffinity(0, sizeof process_cpus, &process_cpus); /* best effort */
    pthread_mutex_lock(&self->mu);
    for (;;) {
        while (!self->stop && self->state != QUEUED)
            pthread_cond_wait(&self->cv, &self->mu);
        if (self->state != QUEUED) /* stopping with nothing queued */
            break;
        int ndata = self->ndata, nfull = self->nfull;
        memcpy(fds, self->fds, sizeof(int) * (size_t)(ndata + nfull));
        const Write *writes = self->writes;
        Py_ssize_t nwrites = self->nwrites;
        self->state = RUNNING;
        pthread_mutex_unlock(&self->mu);

        int error = write_all(writes, nwrites);
        if (!error)
            error = sync_all(fds, ndata, nfull);

        pthread_mutex_lock(&self->mu);
        self->error = error;
        self->state = DONE;
        pthread_cond_broadcast(&self->cv); /* close() may be waiting */
        pthread_mutex_unlock(&self->mu);
        /* Written after unlocking, so the loop's result() (which takes `mu`) does
         * not wake only to wait for us. Cannot fail short of a closed fd, which
         * close() prevents by joining first; an overflow would need 2^64 requests. */
        uint64_t one = 1;
        (void)!write(self->efd, &one, sizeof one);
        pthread_mutex_lock(&self->mu);
    }
    pthread_mutex_unlock(&self->mu);
    return NULL;
}

static PyObject *syncer_new(PyTypeObject *type, PyObject *args, PyObject *kwargs)
{
    static char *kwlist[] = {NULL};
    if (!PyArg_ParseTupleAndKeywords(args, kwargs, ":Syncer", kwlist))
        return NULL;
    Syncer *self = (Syncer *)type->tp_alloc(type, 0);
    if (self == NULL)
        return NULL;
    self->efd = -1;
    pthread_mutex_init(&self->mu, NULL);
    pthread_cond_init(&self->cv, NULL);
    self->state = IDLE;
    self->efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (self->efd < 0) {
        PyErr_SetFromErrno(PyExc_OSError);
        Py_DECREF(self);
        return NULL;
    }
    int rc = pthread_create(&self->thread, NULL, run, self);
    if (rc != 0) {
        errno = rc;
        PyErr_SetFromErrno(PyExc_OSError);
        Py_DECREF(self);
        return NULL;
    }
    self->started = 1;
    return (PyObject *)self;
}

static void stop_thread(Syncer *self)
{
    if (!self->started)
        return;
    Py_BEGIN_ALLOW_THREADS
    pthread_mutex_lock(&self->mu);
    self->stop = 1;
    pthread_cond_broadcast(&self->cv);
    pthread_mutex_unlock(&self->mu);
    pthread_join(self->thread, NULL);
    Py_END_ALLOW_THREADS
    self->started = 0;
}

static PyObject *syncer_close(Syncer *self, PyObject *Py_UNUSED(ignored))
{
    stop_thread(self);
    if (self->efd >= 0) {
        close(self->efd);
        self->efd = -1;
    }
    Py_RETURN_NONE;
}

static void syncer_dealloc(Syncer *self)
{
    stop_thread(self);
    release_writes(self);
    if (self->efd >= 0)
        close(self->efd);
    pthread_cond_destroy(&self->cv);
    pthread_mutex_destroy(&self->mu);
    Py_TYPE(self)->tp_free((PyObject *)self);
}

static PyObject *syncer_fileno(Syncer *self, PyObject *Py_UNUSED(ignored))
{
    return PyLong_FromLong(self->efd);
}

/* Copies the ints of `seq` into fds[at:]; returns how many, or -1. */
static int take_fds(PyObject *seq, int *fds, int at)
{
    PyObject *fast = PySequence_Fast(seq, "expected a sequence of file descriptors");
    if (fast == NULL)
        return -1;
    Py_ssize_t n = PySequence_Fast_GET_SIZE(fast);
    if (at + n > MAX_FDS) {
        Py_DECREF(fast);
        PyErr_Format(PyExc_ValueError, "at most %d file descriptors per request", MAX_FDS);
        return -1;
    }
    for (Py_ssize_t i = 0; i < n; i++) {
        long fd = PyLong_AsLong(PySequence_Fast_GET_ITEM(fast, i));
        if (fd == -1 && PyErr_Occurred()) {
            Py_DECREF(fast);
            return -1;
        }
        if (fd < 0 || fd > INT_MAX) {
            Py_DECREF(fast);
            PyErr_SetString(PyExc_ValueError, "not a file descriptor");
            return -1;
        }
        fds[at + i] = (int)fd;
    }
    Py_DECREF(fast);
    return (int)n;
}

/* Takes (fd, buffer, offset) tuples into a new array of held buffers; NULL with
 * an exception set on bad input (nothing held then). */
static Write *take_writes(PyObject *seq, Py_ssize_t *count)
{
    PyObject *fast = PySequence_Fast(seq, "expected a sequence of (fd, buffer, offset)");
    if (fast == NULL)
        return NULL;
    Py_ssize_t n = PySequence_Fast_GET_SIZE(fast);
    if (n > MAX_WRITES) {
        Py_DECREF(fast);
        PyErr_Format(PyExc_ValueError, "at most %d writes per request", MAX_WRITES);
        return NULL;
    }
    Write *writes = PyMem_Calloc(n ? (size_t)n : 1, sizeof(Write));
    if (writes == NULL) {
        Py_DECREF(fast);
        PyErr_NoMemory();
        return NULL;
    }
    Py_ssize_t held = 0;
    for (; held < n; held++) {
        int fd;
        long long offset;
        PyObject *item = PySequence_Fast_GET_ITEM(fast, held);
        if (!PyTuple_Check(item) || !PyArg_ParseTuple(item, "iy*L:write", &fd, &writes[held].view, &offset))
            goto fail;
        if (fd < 0 || offset < 0) {
            PyBuffer_Release(&writes[held].view);
            PyErr_SetString(PyExc_ValueError, "a write needs a file descriptor and an offset >= 0");
            goto fail;
        }
        writes[held].fd = fd;
        writes[held].offset = (off_t)offset;
    }
    Py_DECREF(fast);
    *count = n;
    return writes;
fail:
    if (!PyErr_Occurred() || PyErr_ExceptionMatches(PyExc_SystemError))
        PyErr_SetString(PyExc_TypeError, "a write is a tuple (fd, buffer, offset)");
    for (Py_ssize_t i = 0; i < held; i++)
        PyBuffer_Release(&writes[i].view);
    PyMem_Free(writes);
    Py_DECREF(fast);
    return NULL;
}

/* The request both entry points take: fds into fds[] (data first), the held
 * writes into *writes. Returns 0, or -1 with an exception set (nothing held). */
typedef struct {
    int ndata, nfull;
    Write *writes;
    Py_ssize_t nwrites;
} Request;

static int take_request(PyObject *data, PyObject *full, PyObject *write_seq, int *fds, Request *r)
{
    r->writes = NULL;
    r->nwrites = 0;
    if ((r->ndata = take_fds(data, fds, 0)) < 0)
        return -1;
    if ((r->nfull = take_fds(full, fds, r->ndata)) < 0)
        return -1;
    if (write_seq != NULL && (r->writes = take_writes(write_seq, &r->nwrites)) == NULL)
        return -1;
    return 0;
}

static PyObject *syncer_submit(Syncer *self, PyObject *args)
{
    PyObject *data, *full, *write_seq = NULL;
    if (!PyArg_ParseTuple(args, "OO|O:submit", &data, &full, &write_seq))
        return NULL;
    if (self->efd < 0) {
        PyErr_SetString(PyExc_ValueError, "the syncer is closed");
        return NULL;
    }
    int fds[MAX_FDS];
    Request r;
    if (take_request(data, full, write_seq, fds, &r) < 0)
        return NULL;
    int ndata = r.ndata, nfull = r.nfull;
    Write *writes = r.writes;
    Py_ssize_t nwrites = r.nwrites;
    pthread_mutex_lock(&self->mu);
    if (self->state != IDLE) {
        pthread_mutex_unlock(&self->mu);
        for (Py_ssize_t i = 0; i < nwrites; i++)
            PyBuffer_Release(&writes[i].view);
        PyMem_Free(writes);
        PyErr_SetString(PyExc_RuntimeError, "a sync is already in progress");
        return NULL;
    }
    self->writes = writes; /* IDLE: the last request's were released by result() */
    self->nwrites = nwrites;
    memcpy(self->fds, fds, sizeof(int) * (size_t)(ndata + nfull));
    self->ndata = ndata;
    self->nfull = nfull;
    self->state = QUEUED;
    pthread_mutex_unlock(&self->mu);
    /* Signalled after unlocking: the woken thread's first step is to take `mu`;
     * signalled under it, the thread woke only to block on the mutex, and our
     * unlock had to wake it a second time (perf showed that futex wake from
     * submit on the loop thread). The state is set under the lock and the thread
     * rechecks it before waiting, so no request is missed. */
    pthread_cond_signal(&self->cv);
    Py_RETURN_NONE;
}

static PyObject *syncer_result(Syncer *self, PyObject *Py_UNUSED(ignored))
{
    uint64_t count;
    if (self->efd >= 0)
        (void)!read(self->efd, &count, sizeof count); /* EAGAIN when woken twice; fine */
    pthread_mutex_lock(&self->mu);
    if (self->state != DONE) {
        pthread_mutex_unlock(&self->mu);
        Py_RETURN_NONE;
    }
    int error = self->error;
    self->state = IDLE;
    self->error = 0;
    pthread_mutex_unlock(&self->mu);
    release_writes(self); /* the thread is done with them */
    return PyLong_FromLong(error);
}

static PyMethodDef syncer_methods[] = {
    {"fileno", (PyCFunction)syncer_fileno, METH_NOARGS, "The eventfd that becomes readable when a request is done."},
    {"submit", (PyCFunction)syncer_submit, METH_VARARGS, "submit(data_fds, full_fds, writes=()): start one request."},
    {"result", (PyCFunction)syncer_result, METH_NOARGS, "None while running, else 0 or an errno."},
    {"close", (PyCFunction)syncer_close, METH_NOARGS, "Stop and join the thread; close the eventfd."},
    {NULL, NULL, 0, NULL},
};

static PyTypeObject SyncerType = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "ranvier.eventstore._syncer.Syncer",
    .tp_basicsize = sizeof(Syncer),
    .tp_flags = Py_TPFLAGS_DEFAULT,
    .tp_doc = "fsync requests run on a C thread; completion signalled on an eventfd.",
    .tp_new = syncer_new,
    .tp_dealloc = (destructor)syncer_dealloc,
    .tp_methods = syncer_methods,
};

/* sync_now(data_fds, full_fds, writes=()): the same request run on the calling
 * thread, with the GIL released; returns 0 or the errno of the failed call.
 * For a lone writer, whose loop has nothing else to do meanwhile: it saves the
 * two cross-thread wake-ups of a submitted request (see syncer.py). */
static PyObject *sync_now(PyObject *Py_UNUSED(module), PyObject *args)
{
    PyObject *data, *full, *write_seq = NULL;
    if (!PyArg_ParseTuple(args, "OO|O:sync_now", &data, &full, &write_seq))
        return NULL;
    int fds[MAX_FDS];
    Request r;
    if (take_request(data, full, write_seq, fds, &r) < 0)
        return NULL;
    int error;
    Py_BEGIN_ALLOW_THREADS
    error = write_all(r.writes, r.nwrites);
    if (!error)
        error = sync_all(fds, r.ndata, r.nfull);
    Py_END_ALLOW_THREADS
    for (Py_ssize_t i = 0; i < r.nwrites; i++)
        PyBuffer_Release(&r.writes[i].view);
    PyMem_Free(r.writes);
    return PyLong_FromLong(error);
}

static PyMethodDef module_methods[] = {
    {"sync_now", (PyCFunction)sync_now, METH_VARARGS, "sync_now(data_fds, full_fds, writes=()): run one request on this thread, GIL released; 0 or an errno."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module_def = {
    PyModuleDef_HEAD_INIT, "ranvier.eventstore._syncer",
    "fsync on a thread that never takes the GIL (see _syncer.c).", -1, module_methods,
    NULL, NULL, NULL, NULL,
};

PyMODINIT_FUNC PyInit__syncer(void)
{
    have_process_cpus = sched_getaffinity(0, sizeof process_cpus, &process_cpus) == 0;
    if (PyType_Ready(&SyncerType) < 0)
        return NULL;
    PyObject *module = PyModule_Create(&module_def);
    if (module == NULL)
        return NULL;
    Py_INCREF(&SyncerType);
    if (PyModule_AddObject(module, "Syncer", (PyObject *)&SyncerType) < 0) {
        Py_DECREF(&SyncerType);
        Py_DECREF(module);
        return NULL;
    }
    return module;
}
