/*
 * ranvier.eventstore._native: the append path's per-event work in C.
 *
 * Optional. `codec.py` and `records.py` hold the reference implementations in
 * Python and use these functions only when the extension was built; the two
 * must give the same results (tests/unit/test_native.py compares them on
 * generated and mutated events).
 *
 * scan(events) reads the few fields of each serialized Axon `Event` that the
 * sequence check needs, and checks that the whole message is valid protobuf for
 * our schema (strings are UTF-8, nested messages parse), so an event it accepts
 * is one the protobuf runtime (upb) accepts with the same field values. It only
 * ever accepts: anything it is not sure of - an unknown group, a known field with
 * an unexpected wire type, an over-long varint, bad UTF-8, a truncated field -
 * makes it return None, and the caller parses that transaction with protobuf,
 * which gives the verdict and the error text. So this file can be stricter than
 * upb, never looser.
 *
 * frame(events, reserve) lays events out as a record body (u32 little-endian
 * length, then the bytes, per event) behind `reserve` zero bytes, in one
 * allocation, for the caller to fill in the record header.
 *
 * split(body, count) is the reverse, for readers; with_token(token, event)
 * frames the `EventWithToken` a replay sends around a stored event.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <stdint.h>
#include <string.h>

/* Wire types. */
enum { WT_VARINT = 0, WT_I64 = 1, WT_LEN = 2, WT_I32 = 5 };

/* A field of a message we validate: its number, the wire type it must have, and
 * what its bytes are (a string to check as UTF-8, a nested message, or opaque). */
enum kind { K_SCALAR, K_STRING, K_BYTES, K_MESSAGE };

struct field;
struct schema {
    const struct field *fields;
    int count;
};
struct field {
    uint32_t number;
    int wire_type;
    enum kind kind;
    const struct schema *message; /* K_MESSAGE only */
};

/* io.axoniq.axonserver.grpc.SerializedObject */
static const struct field serialized_object_fields[] = {
    {1, WT_LEN, K_STRING, NULL}, /* type */
    {2, WT_LEN, K_STRING, NULL}, /* revision */
    {3, WT_LEN, K_BYTES, NULL},  /* data */
};
static const struct schema serialized_object = {serialized_object_fields, 3};

/* io.axoniq.axonserver.grpc.MetaDataValue (a oneof: the last one set wins) */
static const struct field metadata_value_fields[] = {
    {1, WT_LEN, K_STRING, NULL},                 /* text_value */
    {2, WT_VARINT, K_SCALAR, NULL},              /* number_value, sint64 */
    {3, WT_VARINT, K_SCALAR, NULL},              /* boolean_value */
    {4, WT_I64, K_SCALAR, NULL},                 /* double_value */
    {5, WT_LEN, K_MESSAGE, &serialized_object},  /* bytes_value */
};
static const struct schema metadata_value = {metadata_value_fields, 5};

/* An entry of map<string, MetaDataValue> meta_data. */
static const struct field metadata_entry_fields[] = {
    {1, WT_LEN, K_STRING, NULL},              /* key */
    {2, WT_LEN, K_MESSAGE, &metadata_value},  /* value */
};
static const struct schema metadata_entry = {metadata_entry_fields, 2};

/* The Event's own fields are handled in scan_event: it keeps some of them. */
enum {
    EV_MESSAGE_ID = 1,
    EV_AGGREGATE_ID = 2,
    EV_SEQUENCE = 3,
    EV_AGGREGATE_TYPE = 4,
    EV_TIMESTAMP = 5,
    EV_PAYLOAD = 6,
    EV_META_DATA = 7,
    EV_SNAPSHOT = 8,
};

/* Reads a varint of at most ten bytes. A tenth byte above 1 would set bits past
 * 64: left to protobuf. Returns 0 when unsure. */
static int read_varint(const uint8_t **pos, const uint8_t *end, uint64_t *value)
{
    const uint8_t *p = *pos;
    uint64_t v = 0;
    for (int shift = 0; shift < 70; shift += 7) {
        if (p >= end)
            return 0;
        uint8_t byte = *p++;
        if (shift == 63 && byte > 1)
            return 0;
        v |= (uint64_t)(byte & 0x7F) << shift;
        if (!(byte & 0x80)) {
            *pos = p;
            *value = v;
            return 1;
        }
    }
    return 0;
}

/* A tag: field number >= 1 and a 32-bit value, as protobuf reads tags. */
static int read_tag(const uint8_t **pos, const uint8_t *end, uint32_t *number, int *wire_type)
{
    uint64_t tag;
    if (!read_varint(pos, end, &tag) || tag > UINT32_MAX || (tag >> 3) == 0)
        return 0;
    *number = (uint32_t)(tag >> 3);
    *wire_type = (int)(tag & 7);
    return 1;
}

/* Length-delimited field: sets [*start, *start + *len) within the message. */
static int read_len(const uint8_t **pos, const uint8_t *end, const uint8_t **start, size_t *len)
{
    uint64_t n;
    if (!read_varint(pos, end, &n) || n > (uint64_t)(end - *pos))
        return 0;
    *start = *pos;
    *len = (size_t)n;
    *pos += n;
    return 1;
}

/* Strict UTF-8 as the Unicode standard defines it (no overlong forms, no
 * surrogates, nothing above U+10FFFF), which is what protobuf checks proto3
 * strings against. */
static int valid_utf8(const uint8_t *s, size_t n)
{
    const uint8_t *end = s + n;
    while (s < end) {
        if (end - s >= 8) {
            uint64_t word;
            memcpy(&word, s, 8);
            if (!(word & 0x8080808080808080ULL)) {
                s += 8;
                continue;
            }
        }
        uint8_t c = *s;
        if (c < 0x80) {
            s++;
            continue;
        }
        size_t need;
        uint8_t lo = 0x80, hi = 0xBF; /* allowed range of the second byte */
        if (c >= 0xC2 && c <= 0xDF) {
            need = 1;
        } else if (c >= 0xE0 && c <= 0xEF) {
            need = 2;
            if (c == 0xE0)
                lo = 0xA0; /* overlong */
            else if (c == 0xED)
                hi = 0x9F; /* surrogates */
        } else if (c >= 0xF0 && c <= 0xF4) {
            need = 3;
            if (c == 0xF0)
                lo = 0x90; /* overlong */
            else if (c == 0xF4)
                hi = 0x8F; /* above U+10FFFF */
        } else {
            return 0;
        }
        if ((size_t)(end - s) <= need)
            return 0;
        if (s[1] < lo || s[1] > hi)
            return 0;
        for (size_t i = 2; i <= need; i++)
            if ((s[i] & 0xC0) != 0x80)
                return 0;
        s += need + 1;
    }
    return 1;
}

/* Skips an unknown field's value. Groups (3, 4) and wire types 6, 7 are left to
 * protobuf. */
static int skip_value(const uint8_t **pos, const uint8_t *end, int wire_type)
{
    uint64_t ignored;
    const uint8_t *start;
    size_t len;
    switch (wire_type) {
    case WT_VARINT:
        return read_varint(pos, end, &ignored);
    case WT_I64:
        if (end - *pos < 8)
            return 0;
        *pos += 8;
        return 1;
    case WT_LEN:
        return read_len(pos, end, &start, &len);
    case WT_I32:
        if (end - *pos < 4)
            return 0;
        *pos += 4;
        return 1;
    default:
        return 0;
    }
}

static int valid_message(const uint8_t *p, const uint8_t *end, const struct schema *schema);

/* The value of a known field, which has its expected wire type. */
static int valid_known(const uint8_t **pos, const uint8_t *end, const struct field *field)
{
    const uint8_t *start;
    size_t len;
    switch (field->kind) {
    case K_SCALAR:
        return skip_value(pos, end, field->wire_type);
    case K_STRING:
        return read_len(pos, end, &start, &len) && valid_utf8(start, len);
    case K_BYTES:
        return read_len(pos, end, &start, &len);
    case K_MESSAGE:
        return read_len(pos, end, &start, &len) && valid_message(start, start + len, field->message);
    }
    return 0;
}

static int valid_message(const uint8_t *p, const uint8_t *end, const struct schema *schema)
{
    while (p < end) {
        uint32_t number;
        int wire_type;
        if (!read_tag(&p, end, &number, &wire_type))
            return 0;
        const struct field *field = NULL;
        for (int i = 0; i < schema->count; i++) {
            if (schema->fields[i].number == number) {
                field = &schema->fields[i];
                break;
            }
        }
        if (field == NULL) {
            if (!skip_value(&p, end, wire_type))
                return 0;
        } else if (field->wire_type != wire_type || !valid_known(&p, end, field)) {
            return 0;
        }
    }
    return 1;
}

/* What the sequence check needs of one event; the last occurrence of a field wins,
 * as in protobuf. */
struct event_key {
    const uint8_t *aggregate_id;
    size_t aggregate_id_len;
    int64_t sequence;
    int domain; /* aggregate_type is not empty */
    int64_t timestamp;
};

static const struct field string_field = {0, WT_LEN, K_STRING, NULL};
static const struct field payload_field = {EV_PAYLOAD, WT_LEN, K_MESSAGE, &serialized_object};
static const struct field meta_data_field = {EV_META_DATA, WT_LEN, K_MESSAGE, &metadata_entry};

static int scan_event(const uint8_t *p, const uint8_t *end, struct event_key *key)
{
    memset(key, 0, sizeof *key);
    key->aggregate_id = p; /* empty unless set */
    while (p < end) {
        uint32_t number;
        int wire_type;
        uint64_t value;
        const uint8_t *start;
        size_t len;
        if (!read_tag(&p, end, &number, &wire_type))
            return 0;
        switch (number) {
        case EV_MESSAGE_ID:
            if (wire_type != WT_LEN || !valid_known(&p, end, &string_field))
                return 0;
            break;
        case EV_AGGREGATE_ID:
            if (wire_type != WT_LEN || !read_len(&p, end, &start, &len) || !valid_utf8(start, len))
                return 0;
            key->aggregate_id = start;
            key->aggregate_id_len = len;
            break;
        case EV_AGGREGATE_TYPE:
            if (wire_type != WT_LEN || !read_len(&p, end, &start, &len) || !valid_utf8(start, len))
                return 0;
            key->domain = len != 0;
            break;
        case EV_SEQUENCE:
        case EV_TIMESTAMP:
            if (wire_type != WT_VARINT || !read_varint(&p, end, &value))
                return 0;
            if (number == EV_SEQUENCE)
                key->sequence = (int64_t)value;
            else
                key->timestamp = (int64_t)value;
            break;
        case EV_PAYLOAD:
            if (wire_type != WT_LEN || !valid_known(&p, end, &payload_field))
                return 0;
            break;
        case EV_META_DATA:
            if (wire_type != WT_LEN || !valid_known(&p, end, &meta_data_field))
                return 0;
            break;
        case EV_SNAPSHOT:
            if (wire_type != WT_VARINT || !read_varint(&p, end, &value))
                return 0;
            break;
        default:
            if (!skip_value(&p, end, wire_type))
                return 0;
        }
    }
    return 1;
}

/* Appends the run (aggregate id, first, last) to `runs`. */
static int add_run(PyObject *runs, const struct event_key *key, int64_t first, int64_t last)
{
    PyObject *run = Py_BuildValue(
        "(s#LL)", (const char *)key->aggregate_id, (Py_ssize_t)key->aggregate_id_len,
        (long long)first, (long long)last);
    if (run == NULL)
        return -1;
    int rc = PyList_Append(runs, run);
    Py_DECREF(run);
    return rc;
}

PyDoc_STRVAR(scan_doc,
"scan(events) -> (runs, max_timestamp) or None\n\n"
"events: a list or tuple of serialized Axon Event messages (bytes).\n"
"runs: (aggregate id, first sequence, last sequence) for each maximal run of\n"
"domain events (non-empty aggregate type) of one aggregate with consecutive\n"
"sequence numbers, in order; other events neither join nor break a run.\n"
"max_timestamp: the largest timestamp, at least 0.\n"
"None when an event is anything but plainly valid: parse those with protobuf.");

static PyObject *scan(PyObject *module, PyObject *events)
{
    (void)module;
    PyObject *seq = PySequence_Fast(events, "scan() takes a list or tuple of bytes");
    if (seq == NULL)
        return NULL;
    Py_ssize_t count = PySequence_Fast_GET_SIZE(seq);
    PyObject **items = PySequence_Fast_ITEMS(seq);
    PyObject *runs = PyList_New(0);
    if (runs == NULL) {
        Py_DECREF(seq);
        return NULL;
    }
    struct event_key run = {0}, key;
    int64_t run_first = 0, run_last = 0, max_ts = 0;
    int in_run = 0;
    for (Py_ssize_t i = 0; i < count; i++) {
        if (!PyBytes_CheckExact(items[i]))
            goto unsure;
        const uint8_t *data = (const uint8_t *)PyBytes_AS_STRING(items[i]);
        if (!scan_event(data, data + PyBytes_GET_SIZE(items[i]), &key))
            goto unsure;
        if (key.timestamp > max_ts)
            max_ts = key.timestamp;
        if (!key.domain)
            continue;
        if (in_run && key.aggregate_id_len == run.aggregate_id_len
            && memcmp(key.aggregate_id, run.aggregate_id, key.aggregate_id_len) == 0
            && run_last != INT64_MAX && key.sequence == run_last + 1) {
            run_last = key.sequence;
            continue;
        }
        if (in_run && add_run(runs, &run, run_first, run_last) < 0)
            goto error;
        run = key;
        run_first = run_last = key.sequence;
        in_run = 1;
    }
    if (in_run && add_run(runs, &run, run_first, run_last) < 0)
        goto error;
    Py_DECREF(seq);
    PyObject *result = Py_BuildValue("(NL)", runs, (long long)max_ts);
    return result;

unsure:
    Py_DECREF(seq);
    Py_DECREF(runs);
    Py_RETURN_NONE;
error:
    Py_DECREF(seq);
    Py_DECREF(runs);
    return NULL;
}

PyDoc_STRVAR(frame_doc,
"frame(events, reserve) -> bytearray\n\n"
"`reserve` zero bytes, then for each event its length (u32, little-endian)\n"
"and its bytes: a record body behind room for the record's header.");

static PyObject *frame(PyObject *module, PyObject *const *args, Py_ssize_t nargs)
{
    (void)module;
    if (nargs != 2) {
        PyErr_SetString(PyExc_TypeError, "frame() takes events and reserve");
        return NULL;
    }
    Py_ssize_t reserve = PyLong_AsSsize_t(args[1]);
    if (reserve == -1 && PyErr_Occurred())
        return NULL;
    if (reserve < 0) {
        PyErr_SetString(PyExc_ValueError, "reserve must not be negative");
        return NULL;
    }
    PyObject *seq = PySequence_Fast(args[0], "frame() takes a list or tuple of bytes");
    if (seq == NULL)
        return NULL;
    Py_ssize_t count = PySequence_Fast_GET_SIZE(seq);
    PyObject **items = PySequence_Fast_ITEMS(seq);
    Py_ssize_t total = reserve;
    for (Py_ssize_t i = 0; i < count; i++) {
        if (!PyBytes_Check(items[i])) {
            PyErr_SetString(PyExc_TypeError, "frame() takes a list or tuple of bytes");
            Py_DECREF(seq);
            return NULL;
        }
        Py_ssize_t n = PyBytes_GET_SIZE(items[i]);
        if ((uint64_t)n > UINT32_MAX || total > PY_SSIZE_T_MAX - 4 - n) {
            PyErr_SetString(PyExc_OverflowError, "event too large to frame");
            Py_DECREF(seq);
            return NULL;
        }
        total += 4 + n;
    }
    PyObject *out = PyByteArray_FromStringAndSize(NULL, total);
    if (out == NULL) {
        Py_DECREF(seq);
        return NULL;
    }
    uint8_t *p = (uint8_t *)PyByteArray_AS_STRING(out);
    memset(p, 0, (size_t)reserve);
    p += reserve;
    for (Py_ssize_t i = 0; i < count; i++) {
        Py_ssize_t n = PyBytes_GET_SIZE(items[i]);
        uint32_t len = (uint32_t)n;
        p[0] = (uint8_t)len;
        p[1] = (uint8_t)(len >> 8);
        p[2] = (uint8_t)(len >> 16);
        p[3] = (uint8_t)(len >> 24);
        memcpy(p + 4, PyBytes_AS_STRING(items[i]), (size_t)n);
        p += 4 + n;
    }
    Py_DECREF(seq);
    return out;
}

PyDoc_STRVAR(split_doc,
"split(body, count) -> list of bytes, or None\n\n"
"The `count` events of a record body, in order; None when the lengths do not\n"
"fill the body exactly (the caller reports that).");

static PyObject *split(PyObject *module, PyObject *const *args, Py_ssize_t nargs)
{
    (void)module;
    if (nargs != 2) {
        PyErr_SetString(PyExc_TypeError, "split() takes body and count");
        return NULL;
    }
    Py_ssize_t count = PyLong_AsSsize_t(args[1]);
    if (count == -1 && PyErr_Occurred())
        return NULL;
    if (count < 0)
        count = 0; /* as the reference's range(count) */
    Py_buffer view;
    if (PyObject_GetBuffer(args[0], &view, PyBUF_SIMPLE) < 0)
        return NULL;
    const uint8_t *p = view.buf, *end = p + view.len;
    PyObject *out = count <= view.len / 4 ? PyList_New(count) : NULL;
    if (out == NULL) {
        PyBuffer_Release(&view);
        if (PyErr_Occurred())
            return NULL;
        Py_RETURN_NONE; /* a count the body cannot hold */
    }
    for (Py_ssize_t i = 0; i < count; i++) {
        if (end - p < 4)
            goto malformed;
        uint32_t len = (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
        p += 4;
        if ((uint64_t)(end - p) < len)
            goto malformed;
        PyObject *event = PyBytes_FromStringAndSize((const char *)p, (Py_ssize_t)len);
        if (event == NULL) {
            Py_DECREF(out);
            PyBuffer_Release(&view);
            return NULL;
        }
        PyList_SET_ITEM(out, i, event);
        p += len;
    }
    if (p != end)
        goto malformed;
    PyBuffer_Release(&view);
    return out;
malformed:
    Py_DECREF(out); /* unset items are NULL, which list dealloc skips */
    PyBuffer_Release(&view);
    Py_RETURN_NONE;
}

static size_t put_varint(uint8_t *out, uint64_t v)
{
    size_t n = 0;
    while (v >= 0x80) {
        out[n++] = (uint8_t)(v | 0x80);
        v >>= 7;
    }
    out[n++] = (uint8_t)v;
    return n;
}

PyDoc_STRVAR(with_token_doc,
"with_token(token, event) -> bytes\n\n"
"Serialized EventWithToken{token = 1, event = 2} around the stored event bytes\n"
"(a token of 0 is left out, as protobuf leaves out defaults).");

static PyObject *with_token(PyObject *module, PyObject *const *args, Py_ssize_t nargs)
{
    (void)module;
    if (nargs != 2 || !PyBytes_Check(args[1])) {
        PyErr_SetString(PyExc_TypeError, "with_token() takes an int token and event bytes");
        return NULL;
    }
    long long token = PyLong_AsLongLong(args[0]);
    if (token == -1 && PyErr_Occurred())
        return NULL;
    Py_ssize_t len = PyBytes_GET_SIZE(args[1]);
    uint8_t head[24]; /* tag, 10-byte token, tag, 10-byte length */
    size_t n = 0;
    if (token != 0) {
        head[n++] = 0x08;
        n += put_varint(head + n, (uint64_t)token);
    }
    head[n++] = 0x12;
    n += put_varint(head + n, (uint64_t)len);
    PyObject *out = PyBytes_FromStringAndSize(NULL, (Py_ssize_t)n + len);
    if (out == NULL)
        return NULL;
    char *dst = PyBytes_AS_STRING(out);
    memcpy(dst, head, n);
    memcpy(dst + n, PyBytes_AS_STRING(args[1]), (size_t)len);
    return out;
}

static PyMethodDef methods[] = {
    {"scan", (PyCFunction)scan, METH_O, scan_doc},
    {"frame", (PyCFunction)(void (*)(void))frame, METH_FASTCALL, frame_doc},
    {"split", (PyCFunction)(void (*)(void))split, METH_FASTCALL, split_doc},
    {"with_token", (PyCFunction)(void (*)(void))with_token, METH_FASTCALL, with_token_doc},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module_def = {
    PyModuleDef_HEAD_INIT, "ranvier.eventstore._native",
    "The append path's per-event work in C (see _native.c).", -1, methods,
    NULL, NULL, NULL, NULL,
};

PyMODINIT_FUNC PyInit__native(void)
{
    return PyModule_Create(&module_def);
}
