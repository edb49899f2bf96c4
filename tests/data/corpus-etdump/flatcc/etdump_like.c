/*
 * Writes ETDump files with flatcc exactly the way ExecuTorch's ETDumpGen
 * (devtools/etdump/etdump_flatcc.cpp) drives flatcc's builder: an outer
 * buffer that is never finished, a nested size-prefixed buffer holding the
 * ETDump (so vtables are emitted inline, not clustered, and the result is
 * the nested buffer with its uint32 size prefix), events pushed one by one,
 * names created as strings before their event tables, default scalars left
 * out by the generated _add functions.
 *
 * Written for pte_encoder's tests (scratch tooling): it produces real
 * flatcc-layout files for the parts of the schema the corpus does not reach
 * (allocators and allocation events, Int/Bool/Double/TensorList values,
 * integer delegate ids with metadata, bundled_input_index, empty tensors
 * with offset -1, several Execute blocks).
 *
 * Built with gcc against flatcc @ 896db547 (the flatcc ExecuTorch pins) and the
 * builder headers `flatcc -a` generates from etdump_schema_flatcc.fbs; its output
 * is this folder's .etdp and .bin files (the build script is not kept).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <stdint.h>

#include "etdump_schema_flatcc_builder.h"

#undef ns
#define ns(x) FLATBUFFERS_WRAP_NAMESPACE(etdump, x)

enum state { S_INIT, S_BLOCK, S_ALLOCATORS, S_EVENTS, S_DONE };

typedef struct {
    flatcc_builder_t b;
    enum state st;
    int blocks;
    int32_t chain;          /* as EventTracer::chain_id_ (ChainID = int32) */
    uint32_t handle;        /* as EventTracer::debug_handle_ */
    int bundled_input_index;
    /* debug buffer (BufferDataSink: align the *address* to 64) */
    uint8_t *dbg; size_t dbg_size, dbg_used;
    uint64_t clock;
} gen_t;

static uint64_t ticks(gen_t *g) { g->clock += 1000 + (g->clock % 7) * 13; return g->clock; }

static void reset(gen_t *g) {
    flatcc_builder_reset(&g->b);
    g->st = S_INIT; g->blocks = 0;
    flatbuffers_buffer_start(&g->b, ns(ETDump_file_identifier));
    ns(ETDump_start_as_root_with_size(&g->b));
    ns(ETDump_version_add(&g->b, 0));
    ns(ETDump_run_data_start(&g->b));
    ns(ETDump_run_data_push_start(&g->b));
}

static void create_event_block(gen_t *g, const char *name) {
    if (g->st == S_EVENTS) ns(RunData_events_end(&g->b));
    else if (g->st == S_DONE) reset(g);
    if (g->blocks > 0) {
        ns(ETDump_run_data_push_end(&g->b));
        ns(ETDump_run_data_push_start(&g->b));
    }
    ++g->blocks;
    ns(RunData_name_create_strn(&g->b, name, strlen(name)));
    if (g->bundled_input_index != -1) ns(RunData_bundled_input_index_add(&g->b, g->bundled_input_index));
    g->st = S_BLOCK;
}

static void ready_for_events(gen_t *g) {
    if (g->st != S_EVENTS) {
        if (g->st == S_ALLOCATORS) ns(RunData_allocators_end(&g->b));
        ns(RunData_events_start(&g->b));
        g->st = S_EVENTS;
    }
}

static int track_allocator(gen_t *g, const char *name) {
    if (g->st != S_ALLOCATORS) { ns(RunData_allocators_start(&g->b)); g->st = S_ALLOCATORS; }
    flatbuffers_string_ref_t ref = flatbuffers_string_create_str(&g->b, name);
    ns(RunData_allocators_push_create(&g->b, ref));
    return (int)ns(RunData_allocators_reserved_len(&g->b));   /* 1-based, as upstream */
}

static void track_allocation(gen_t *g, int id, size_t size) {
    ready_for_events(g);
    ns(RunData_events_push_start(&g->b));
    ns(Event_allocation_event_create(&g->b, id, size));
    ns(RunData_events_push_end(&g->b));
}

/* start_profiling: the name string is created first; end_profiling writes the event */
typedef struct { int64_t name_ref; int32_t chain; uint32_t handle; uint64_t start; } entry_t;

static entry_t start_profiling(gen_t *g, const char *name) {
    entry_t e;
    e.name_ref = name ? flatbuffers_string_create_str(&g->b, name) : -1;
    e.chain = g->chain; e.handle = g->handle; e.start = ticks(g);
    return e;
}

static void end_profiling(gen_t *g, entry_t e) {
    uint64_t end = ticks(g);
    ready_for_events(g);
    ns(ProfileEvent_start(&g->b));
    ns(ProfileEvent_start_time_add(&g->b, e.start));
    ns(ProfileEvent_end_time_add(&g->b, end));
    ns(ProfileEvent_chain_index_add(&g->b, e.chain));
    ns(ProfileEvent_instruction_id_add(&g->b, (int32_t)e.handle));
    if (e.name_ref != -1) ns(ProfileEvent_name_add(&g->b, (flatbuffers_string_ref_t)e.name_ref));
    ns(ProfileEvent_ref_t) id = ns(ProfileEvent_end(&g->b));
    ns(RunData_events_push_start(&g->b));
    ns(Event_profile_event_add(&g->b, id));
    ns(RunData_events_push_end(&g->b));
}

/* log_profiling_delegate: either a name (string id) or an integer id */
static void log_profiling_delegate(gen_t *g, const char *name, int32_t int_id,
                                   uint64_t start, uint64_t end, const void *md, size_t md_len) {
    ready_for_events(g);
    int64_t sid = name ? flatbuffers_string_create_str(&g->b, name) : -1;
    ns(ProfileEvent_start(&g->b));
    ns(ProfileEvent_start_time_add(&g->b, start));
    ns(ProfileEvent_end_time_add(&g->b, end));
    ns(ProfileEvent_chain_index_add(&g->b, g->chain));
    ns(ProfileEvent_instruction_id_add(&g->b, (int32_t)g->handle));
    if (sid == -1) ns(ProfileEvent_delegate_debug_id_int_add(&g->b, int_id));
    else ns(ProfileEvent_delegate_debug_id_str_add(&g->b, (flatbuffers_string_ref_t)sid));
    flatbuffers_uint8_vec_ref_t v = flatbuffers_uint8_vec_create_pe(&g->b, (const uint8_t *)md, md_len);
    ns(ProfileEvent_delegate_debug_metadata_add(&g->b, v));
    ns(ProfileEvent_ref_t) id = ns(ProfileEvent_end(&g->b));
    ns(RunData_events_push_start(&g->b));
    ns(Event_profile_event_add(&g->b, id));
    ns(RunData_events_push_end(&g->b));
}

/* a tensor: float32 data of n elements, sizes/strides as given */
typedef struct { int8_t scalar_type; int ndim; int64_t sizes[4]; int64_t strides[4]; size_t nbytes; const void *data; } tensor_t;

static int64_t write_tensor(gen_t *g, const tensor_t *t) {
    if (t->nbytes == 0) return -1;                  /* static_cast<size_t>(-1) as long */
    uintptr_t last = (uintptr_t)(g->dbg + g->dbg_used);
    uintptr_t begin = (last + 63) & ~(uintptr_t)63;  /* the address, not the offset */
    memset((void *)last, 0, begin - last);
    memcpy((void *)begin, t->data, t->nbytes);
    g->dbg_used = (size_t)(begin - (uintptr_t)g->dbg) + t->nbytes;
    return (int64_t)(begin - (uintptr_t)g->dbg);
}

static ns(Tensor_ref_t) add_tensor(gen_t *g, const tensor_t *t, int64_t offset) {
    ns(Tensor_start(&g->b));
    ns(Tensor_scalar_type_add(&g->b, t->scalar_type));
    ns(Tensor_sizes_start(&g->b));
    for (int i = 0; i < t->ndim; ++i) ns(Tensor_sizes_push(&g->b, &t->sizes[i]));
    ns(Tensor_sizes_end(&g->b));
    ns(Tensor_strides_start(&g->b));
    for (int i = 0; i < t->ndim; ++i) ns(Tensor_strides_push(&g->b, &t->strides[i]));
    ns(Tensor_strides_end(&g->b));
    ns(Tensor_offset_add(&g->b, offset));
    return ns(Tensor_end(&g->b));
}

enum kind { K_TENSOR, K_TLIST, K_INT, K_DOUBLE, K_BOOL };

/* log_evalue (output=1: a method output) */
static void log_evalue(gen_t *g, enum kind k, const tensor_t *ts, int nt, int64_t iv, double dv, int bv, int output) {
    ready_for_events(g);
    ns(DebugEvent_start(&g->b));
    ns(DebugEvent_chain_index_add(&g->b, (uint64_t)(int64_t)g->chain));
    ns(DebugEvent_instruction_id_add(&g->b, (int32_t)g->handle));
    ns(Value_ref_t) value;
    if (k == K_TENSOR) {
        int64_t off = write_tensor(g, &ts[0]);
        ns(Tensor_ref_t) tr = add_tensor(g, &ts[0], off);
        ns(Value_start(&g->b));
        ns(Value_val_add(&g->b, ns(ValueType_Tensor)));
        ns(Value_tensor_add(&g->b, tr));
        if (output) { ns(Bool_ref_t) br = ns(Bool_create(&g->b, 1)); ns(Value_output_add(&g->b, br)); }
        value = ns(Value_end(&g->b));
    } else if (k == K_TLIST) {
        ns(Tensor_vec_start(&g->b));
        for (int i = 0; i < nt; ++i) {
            int64_t off = write_tensor(g, &ts[i]);
            ns(Tensor_ref_t) tr = add_tensor(g, &ts[i], off);
            ns(Tensor_vec_push(&g->b, tr));
        }
        ns(Tensor_vec_ref_t) vr = ns(Tensor_vec_end(&g->b));
        ns(TensorList_ref_t) lr = ns(TensorList_create(&g->b, vr));
        ns(Value_start(&g->b));
        ns(Value_val_add(&g->b, ns(ValueType_TensorList)));
        ns(Value_tensor_list_add(&g->b, lr));
        if (output) { ns(Bool_ref_t) br = ns(Bool_create(&g->b, 1)); ns(Value_output_add(&g->b, br)); }
        value = ns(Value_end(&g->b));
    } else if (k == K_INT) {
        ns(Int_ref_t) r = ns(Int_create(&g->b, iv));
        ns(Value_start(&g->b));
        ns(Value_val_add(&g->b, ns(ValueType_Int)));
        ns(Value_int_value_add(&g->b, r));
        value = ns(Value_end(&g->b));
    } else if (k == K_DOUBLE) {
        ns(Double_ref_t) r = ns(Double_create(&g->b, dv));
        ns(Value_start(&g->b));
        ns(Value_double_value_add(&g->b, r));
        ns(Value_val_add(&g->b, ns(ValueType_Double)));
        value = ns(Value_end(&g->b));
    } else {
        ns(Bool_ref_t) r = ns(Bool_create(&g->b, bv ? 1 : 0));
        ns(Value_start(&g->b));
        ns(Value_bool_value_add(&g->b, r));
        ns(Value_val_add(&g->b, ns(ValueType_Bool)));
        value = ns(Value_end(&g->b));
    }
    ns(DebugEvent_debug_entry_add(&g->b, value));
    ns(DebugEvent_ref_t) de = ns(DebugEvent_end(&g->b));
    ns(RunData_events_push_start(&g->b));
    ns(Event_debug_event_add(&g->b, de));
    ns(RunData_events_push_end(&g->b));
}

/* log_intermediate_output_delegate with a tensor, by name or integer id */
static void log_delegate_tensor(gen_t *g, const char *name, int32_t int_id, const tensor_t *t) {
    ready_for_events(g);
    int64_t sid = name ? flatbuffers_string_create_str(&g->b, name) : -1;
    ns(DebugEvent_start(&g->b));
    ns(DebugEvent_chain_index_add(&g->b, (uint64_t)(int64_t)g->chain));
    ns(DebugEvent_instruction_id_add(&g->b, (int32_t)g->handle));
    if (sid == -1) ns(DebugEvent_delegate_debug_id_int_add(&g->b, int_id));
    else ns(DebugEvent_delegate_debug_id_str_add(&g->b, (flatbuffers_string_ref_t)sid));
    int64_t off = write_tensor(g, t);
    ns(Tensor_ref_t) tr = add_tensor(g, t, off);
    ns(Value_start(&g->b));
    ns(Value_val_add(&g->b, ns(ValueType_Tensor)));
    ns(Value_tensor_add(&g->b, tr));
    ns(Value_ref_t) v = ns(Value_end(&g->b));
    ns(DebugEvent_debug_entry_add(&g->b, v));
    ns(DebugEvent_ref_t) de = ns(DebugEvent_end(&g->b));
    ns(RunData_events_push_start(&g->b));
    ns(Event_debug_event_add(&g->b, de));
    ns(RunData_events_push_end(&g->b));
}

static size_t finish(gen_t *g, void **out) {
    if (g->st == S_EVENTS) ns(RunData_events_end(&g->b));
    else if (g->st == S_ALLOCATORS) ns(RunData_allocators_end(&g->b));
    ns(ETDump_run_data_push_end(&g->b));
    ns(ETDump_run_data_end(&g->b));
    ns(ETDump_ref_t) root = ns(ETDump_end(&g->b));
    flatbuffers_buffer_end(&g->b, root);
    size_t size;
    *out = flatcc_builder_finalize_aligned_buffer(&g->b, &size);
    g->st = S_DONE;
    return size;
}

static void write_file(const char *path, const void *p, size_t n) {
    FILE *f = fopen(path, "wb");
    if (!f || fwrite(p, 1, n, f) != n) { perror(path); exit(1); }
    fclose(f);
}

static void set_instr(gen_t *g, int32_t chain, uint32_t handle) { g->chain = chain; g->handle = handle; }

int main(int argc, char **argv) {
    const char *dir = argc > 1 ? argv[1] : ".";
    char path[1024];
    static float fdata[64];
    for (int i = 0; i < 64; ++i) fdata[i] = (float)i * 0.5f - 3.0f;
    static int64_t ldata[4] = {7, -1, 1LL << 40, 0};

    gen_t g;
    memset(&g, 0, sizeof g);
    flatcc_builder_init(&g.b);
    g.bundled_input_index = -1;
    /* the debug buffer starts 16 bytes past a 64-byte boundary, as the
       corpus's mlp run did: tensors then sit at offsets 48, 112, ... */
    static uint8_t dbg_space[(1 << 16) + 64] __attribute__((aligned(64)));
    g.dbg = dbg_space + 16;
    g.dbg_size = 1 << 16;
    g.clock = 1000000;
    set_instr(&g, -1, 0);

    /* --- file 1: everything: allocators, allocation events, all value kinds,
       delegate events by int id with metadata and by name, two Execute blocks */
    reset(&g);
    {
        create_event_block(&g, "Default");      /* Program::load_method: block first, */
        entry_t load = start_profiling(&g, "Program::load_method");  /* then its scope */
        entry_t init = start_profiling(&g, "Method::init");
        end_profiling(&g, init);
        end_profiling(&g, load);
        for (int run = 0; run < 2; ++run) {
            g.bundled_input_index = run == 1 ? 3 : -1;
            create_event_block(&g, "Execute");
            int a1 = track_allocator(&g, "method allocator");
            int a2 = track_allocator(&g, "temp allocator");
            entry_t ex = start_profiling(&g, "Method::execute");
            set_instr(&g, 0, 0);
            track_allocation(&g, a1, 256);
            track_allocation(&g, a2, 1u << 20);
            entry_t op = start_profiling(&g, "OPERATOR_CALL");
            entry_t k = start_profiling(&g, "native_call_add.out");
            tensor_t t1 = {6, 2, {2, 3}, {3, 1}, 24, fdata};
            log_evalue(&g, K_TENSOR, &t1, 1, 0, 0, 0, 0);
            end_profiling(&g, k);
            end_profiling(&g, op);
            set_instr(&g, 0, 1);
            op = start_profiling(&g, "OPERATOR_CALL");
            tensor_t tl[3] = {{6, 1, {4}, {1}, 16, fdata + 8}, {4, 1, {0}, {1}, 0, ldata},
                              {4, 2, {2, 2}, {2, 1}, 32, ldata}};
            log_evalue(&g, K_TLIST, tl, 3, 0, 0, 0, 0);
            log_evalue(&g, K_INT, 0, 0, -42, 0, 0, 0);
            log_evalue(&g, K_INT, 0, 0, 0, 0, 0, 0);          /* default value: left out */
            log_evalue(&g, K_DOUBLE, 0, 0, 0, 2.5, 0, 0);
            log_evalue(&g, K_DOUBLE, 0, 0, 0, -0.0, 0, 0);    /* == 0.0: left out */
            log_evalue(&g, K_BOOL, 0, 0, 0, 0, 1, 0);
            log_evalue(&g, K_BOOL, 0, 0, 0, 0, 0, 0);
            end_profiling(&g, op);
            set_instr(&g, 0, 2);
            entry_t dc = start_profiling(&g, "DELEGATE_CALL");
            uint8_t md[5] = {1, 2, 3, 250, 0};
            uint64_t t0 = ticks(&g);
            log_profiling_delegate(&g, NULL, 7, t0, t0 + 500, md, sizeof md);
            log_profiling_delegate(&g, NULL, 0, t0 + 500, t0 + 900, NULL, 0);
            log_profiling_delegate(&g, "conv #1", -1, t0 + 900, t0 + 1200, md, 2);
            tensor_t t2 = {6, 1, {8}, {1}, 32, fdata + 16};
            log_delegate_tensor(&g, NULL, 7, &t2);
            log_delegate_tensor(&g, "conv #1", -1, &t2);
            end_profiling(&g, dc);
            set_instr(&g, -1, 0);
            end_profiling(&g, ex);
            tensor_t out = {6, 2, {2, 4}, {4, 1}, 32, fdata + 32};
            log_evalue(&g, K_TENSOR, &out, 1, 0, 0, 0, 1);
            tensor_t outs[2] = {{6, 1, {2}, {1}, 8, fdata}, {11, 1, {3}, {1}, 3, "\1\0\1"}};
            log_evalue(&g, K_TLIST, outs, 2, 0, 0, 0, 1);
        }
        void *buf; size_t n = finish(&g, &buf);
        snprintf(path, sizeof path, "%s/all_kinds.etdp", dir); write_file(path, buf, n);
        snprintf(path, sizeof path, "%s/all_kinds.bin", dir); write_file(path, g.dbg, g.dbg_used);
        flatcc_builder_aligned_free(buf);
    }

    /* --- file 2: a block with allocators and no events (ends in S_ALLOCATORS) */
    g.bundled_input_index = -1; g.dbg_used = 0; set_instr(&g, -1, 0);
    create_event_block(&g, "Execute");   /* state DONE: resets */
    track_allocator(&g, "only allocator");
    {
        void *buf; size_t n = finish(&g, &buf);
        snprintf(path, sizeof path, "%s/allocators_only.etdp", dir); write_file(path, buf, n);
        flatcc_builder_aligned_free(buf);
    }

    /* --- file 3: a block with no events at all, and a second with one */
    create_event_block(&g, "Default");
    create_event_block(&g, "Execute");
    {
        entry_t e = start_profiling(&g, "Method::execute");
        end_profiling(&g, e);
        void *buf; size_t n = finish(&g, &buf);
        snprintf(path, sizeof path, "%s/empty_block.etdp", dir); write_file(path, buf, n);
        flatcc_builder_aligned_free(buf);
    }

    /* --- file 4: many events (vtable sharing over a long vector) */
    create_event_block(&g, "Execute");
    for (int i = 0; i < 300; ++i) {
        set_instr(&g, 0, (uint32_t)i);
        entry_t e = start_profiling(&g, (i % 3) ? "OPERATOR_CALL" : "native_call_mul.out");
        end_profiling(&g, e);
    }
    {
        void *buf; size_t n = finish(&g, &buf);
        snprintf(path, sizeof path, "%s/many_events.etdp", dir); write_file(path, buf, n);
        flatcc_builder_aligned_free(buf);
    }

    flatcc_builder_clear(&g.b);
    return 0;
}
