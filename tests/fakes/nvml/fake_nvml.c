/* A fake libnvidia-ml.so.1 so tests run the real pynvml code path on machines without a GPU.
 *
 * Only the symbols gpumod's NVML adapter reaches through pynvml are exported. The numbers come
 * from environment variables, read at each call so one build serves every test:
 *   FAKE_NVML_INIT_ERROR  NVML return code of nvmlInitWithFlags (default 0, success)
 *   FAKE_NVML_NAMES       comma-separated device names; their number is the device count
 *   FAKE_NVML_DRIVER      driver version string
 *   FAKE_NVML_TOTAL_BYTES / FAKE_NVML_USED_BYTES   memory of every device (free = total - used)
 *   FAKE_NVML_PROCS       compute processes as "pid:bytes,pid:bytes"
 * Built with -DFAKE_NVML_V2_ONLY it lists processes as drivers before 510 do, through _v2 only.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define NVML_SUCCESS 0
#define NVML_ERROR_INVALID_ARGUMENT 2
#define NVML_ERROR_INSUFFICIENT_SIZE 7
#define MAX_DEVICES 16
#define MAX_PROCS 64

typedef struct { int index; } device_t;
typedef struct { unsigned long long total, free, used; } memory_t;
/* nvmlProcessInfo_v2_t, which the _v2 and _v3 calls both fill. */
typedef struct {
    unsigned int pid;
    unsigned long long usedGpuMemory;
    unsigned int gpuInstanceId, computeInstanceId;
} process_t;

static device_t devices[MAX_DEVICES];

static const char *env_or(const char *key, const char *fallback) {
    const char *value = getenv(key);
    return value ? value : fallback;
}

static unsigned long long env_u64(const char *key, unsigned long long fallback) {
    const char *value = getenv(key);
    return value ? strtoull(value, NULL, 10) : fallback;
}

/* Copies the index-th comma-separated field of `list` into out; returns the field count. */
static int nth_field(const char *list, int index, char *out, size_t size) {
    int count = 0;
    const char *start = list;
    for (;;) {
        const char *end = strchr(start, ',');
        size_t len = end ? (size_t)(end - start) : strlen(start);
        if (count == index && out) {
            snprintf(out, size, "%.*s", (int)len, start);
        }
        count++;
        if (!end) return count;
        start = end + 1;
    }
}

static const char *names(void) { return env_or("FAKE_NVML_NAMES", "NVIDIA Fake GPU"); }

static void copy_out(char *out, unsigned int size, const char *text) {
    if (size > 0) snprintf(out, size, "%s", text);
}

int nvmlInitWithFlags(unsigned int flags) {
    (void)flags;
    return (int)env_u64("FAKE_NVML_INIT_ERROR", 0);
}

int nvmlInit_v2(void) { return nvmlInitWithFlags(0); }

int nvmlShutdown(void) { return NVML_SUCCESS; }

const char *nvmlErrorString(int result) {
    return result == NVML_SUCCESS ? "Success" : "Fake NVML error";
}

int nvmlSystemGetDriverVersion(char *version, unsigned int length) {
    copy_out(version, length, env_or("FAKE_NVML_DRIVER", "550.54.15"));
    return NVML_SUCCESS;
}

int nvmlDeviceGetCount_v2(unsigned int *count) {
    int n = nth_field(names(), 0, NULL, 0);
    *count = (unsigned int)(n < MAX_DEVICES ? n : MAX_DEVICES);
    return NVML_SUCCESS;
}

int nvmlDeviceGetHandleByIndex_v2(unsigned int index, device_t **device) {
    unsigned int count;
    nvmlDeviceGetCount_v2(&count);
    if (index >= count) return NVML_ERROR_INVALID_ARGUMENT;
    devices[index].index = (int)index;
    *device = &devices[index];
    return NVML_SUCCESS;
}

int nvmlDeviceGetName(device_t *device, char *name, unsigned int length) {
    char field[256];
    nth_field(names(), device->index, field, sizeof field);
    copy_out(name, length, field);
    return NVML_SUCCESS;
}

int nvmlDeviceGetMemoryInfo(device_t *device, memory_t *memory) {
    (void)device;
    memory->total = env_u64("FAKE_NVML_TOTAL_BYTES", 24ULL << 30);
    memory->used = env_u64("FAKE_NVML_USED_BYTES", 0);
    memory->free = memory->total - memory->used;
    return NVML_SUCCESS;
}

#ifdef FAKE_NVML_V2_ONLY
#define LIST_PROCESSES nvmlDeviceGetComputeRunningProcesses_v2
#else
#define LIST_PROCESSES nvmlDeviceGetComputeRunningProcesses_v3
#endif

int LIST_PROCESSES(device_t *device, unsigned int *count, process_t *infos) {
    const char *list = getenv("FAKE_NVML_PROCS");
    unsigned int n = 0;
    process_t found[MAX_PROCS];
    (void)device;
    while (list && *list && n < MAX_PROCS) {
        char *end;
        found[n].pid = (unsigned int)strtoul(list, &end, 10);
        found[n].usedGpuMemory = strtoull(end + 1, &end, 10);
        found[n].gpuInstanceId = found[n].computeInstanceId = 0xFFFFFFFF;
        n++;
        list = *end == ',' ? end + 1 : end;
    }
    /* As NVML does: a too-small buffer gets the needed count and INSUFFICIENT_SIZE. */
    if (infos == NULL || *count < n) {
        *count = n;
        return n == 0 ? NVML_SUCCESS : NVML_ERROR_INSUFFICIENT_SIZE;
    }
    memcpy(infos, found, n * sizeof(process_t));
    *count = n;
    return NVML_SUCCESS;
}
