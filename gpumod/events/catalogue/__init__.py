"""Every event type gpumod records. Importing this package registers them all.

The catalogue, with when each is emitted and which projection reads it, is in docs/events.md.
"""

from gpumod.events.catalogue.audit import CommandRejected, StoreInitialized
from gpumod.events.catalogue.config import (
    ModeDefined,
    ModeDefinitionChanged,
    ModeRemoved,
    ServiceDefinitionChanged,
    ServiceRegistered,
    ServiceRemoved,
    SettingChanged,
)
from gpumod.events.catalogue.incidents import OomDetected, UnmanagedProcessFound
from gpumod.events.catalogue.lifecycle import (
    ServiceBecameHealthy,
    ServiceBecameUnhealthy,
    ServiceCrashed,
    ServiceProcessLaunched,
    ServiceRecovered,
    ServiceSleepFailed,
    ServiceSlept,
    ServiceStartFailed,
    ServiceStarting,
    ServiceStateReconciled,
    ServiceStopFailed,
    ServiceStopped,
    ServiceStopping,
    ServiceWakeFailed,
    ServiceWoke,
)
from gpumod.events.catalogue.switch import (
    ModeSwitchCompleted,
    ModeSwitchFailed,
    ModeSwitchInterrupted,
    ModeSwitchPlanned,
    ModeSwitchRequested,
    ModeSwitchRolledBack,
)
from gpumod.events.catalogue.vram import (
    GpuDetected,
    ServiceVramMeasured,
    VramObserved,
    VramReleaseAwaited,
    VramReleased,
    VramReleaseTimedOut,
)

__all__ = [
    "CommandRejected",
    "GpuDetected",
    "ModeDefined",
    "ModeDefinitionChanged",
    "ModeRemoved",
    "ModeSwitchCompleted",
    "ModeSwitchFailed",
    "ModeSwitchInterrupted",
    "ModeSwitchPlanned",
    "ModeSwitchRequested",
    "ModeSwitchRolledBack",
    "OomDetected",
    "ServiceBecameHealthy",
    "ServiceBecameUnhealthy",
    "ServiceCrashed",
    "ServiceDefinitionChanged",
    "ServiceProcessLaunched",
    "ServiceRecovered",
    "ServiceRegistered",
    "ServiceRemoved",
    "ServiceSleepFailed",
    "ServiceSlept",
    "ServiceStartFailed",
    "ServiceStarting",
    "ServiceStateReconciled",
    "ServiceStopFailed",
    "ServiceStopped",
    "ServiceStopping",
    "ServiceVramMeasured",
    "ServiceWakeFailed",
    "ServiceWoke",
    "SettingChanged",
    "StoreInitialized",
    "UnmanagedProcessFound",
    "VramObserved",
    "VramReleaseAwaited",
    "VramReleaseTimedOut",
    "VramReleased",
]
