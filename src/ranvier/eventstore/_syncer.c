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
 * One request at a time (the committer has at most one fsync in flight):
 *   s = Syncer(); loop.add_reader(s.fileno(), on_ready)
 *   s.submit(data_fds, full_fds)   fdatasync each of data_fds, then fsync each of
 *                                  full_fds (directories), in order; stops at the
 *                                  first failure
 *   s.result()                     in on_ready: None while the request runs, else
 *                                  0 or the errno of the failed call; collecting
 *                                  it allows the next submit
 *   s.close()                      stops and joins the thread (a running request
 *                                  finishes first)
 * The caller keeps every fd open until result() returned a value.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <stdint.h>
#include <sys/eventfd.h>
#include <unistd.h>

#define MAX_FDS 64

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

static void *run(void *arg)
{
    Syncer *self = arg;
    int fds[MAX_FDS];
    pthread_setname_np(pthread_self(), "ranvier-fsync"); /* for top -H; at most 15 chars */
    pthread_mutex_lock(&self->mu);
    for (;;) {
        while (!self->stop && self->state != QUEUED)
            pthread_cond_wait(&self->cv, &self->mu);
        if (self->state != QUEUED) /* stopping with nothing queued */
            break;
        int ndata = self->ndata, nfull = self->nfull;
        memcpy(fds, self->fds, sizeof(int) * (size_t)(ndata + nfull));
        self->state = RUNNING;
        pthread_mutex_unlock(&self->mu);

        int error = sync_all(fds, ndata, nfull);

        pthread_mutex_lock(&self->mu);
        self->error = error;
        self->state = DONE;
        pthread_cond_broadcast(&self->cv); /* close() may be waiting */
        uint64_t one = 1;
        /* Cannot fail short of a closed fd, which close() prevents by joining
         * first; an overflow would need 2^64 requests. */
        (void)!write(self->efd, &one, sizeof one);
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

static PyObject *syncer_submit(Syncer *self, PyObject *args)
{
    PyObject *data, *full;
    if (!PyArg_ParseTuple(args, "OO:submit", &data, &full))
        return NULL;
    if (self->efd < 0) {
        PyErr_SetString(PyExc_ValueError, "the syncer is closed");
        return NULL;
    }
    int fds[MAX_FDS];
    int ndata = take_fds(data, fds, 0);
    if (ndata < 0)
        return NULL;
    int nfull = take_fds(full, fds, ndata);
    if (nfull < 0)
        return NULL;
    pthread_mutex_lock(&self->mu);
    if (self->state != IDLE) {
        pthread_mutex_unlock(&self->mu);
        PyErr_SetString(PyExc_RuntimeError, "a sync is already in progress");
        return NULL;
    }
    memcpy(self->fds, fds, sizeof(int) * (size_t)(ndata + nfull));
    self->ndata = ndata;
    self->nfull = nfull;
    self->state = QUEUED;
    pthread_cond_signal(&self->cv);
    pthread_mutex_unlock(&self->mu);
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
    return PyLong_FromLong(error);
}

static PyMethodDef syncer_methods[] = {
    {"fileno", (PyCFunction)syncer_fileno, METH_NOARGS, "The eventfd that becomes readable when a request is done."},
    {"submit", (PyCFunction)syncer_submit, METH_VARARGS, "submit(data_fds, full_fds): start one request."},
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

static struct PyModuleDef module_def = {
    PyModuleDef_HEAD_INIT, "ranvier.eventstore._syncer",
    "fsync on a thread that never takes the GIL (see _syncer.c).", -1, NULL,
    NULL, NULL, NULL, NULL,
};

PyMODINIT_FUNC PyInit__syncer(void)
{
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
