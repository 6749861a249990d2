// What this process may do with userfaultfd: shared by the library's boot
// check and `pagezip doctor`, so both say the same thing.

import CPageZipSys

public struct UserfaultfdProbe: Sendable {
    public enum Access: Equatable, Sendable {
        case device             // /dev/userfaultfd: kernel-mode faults by file permission
        case syscall            // userfaultfd(2) with kernel-mode faults (root, or the sysctl)
        case userModeOnly       // only UFFD_USER_MODE_ONLY: pagezip cannot work
        case blocked(Int32)     // the system call is refused (seccomp) or missing
    }

    public var access: Access
    /// errno of opening /dev/userfaultfd (0 = opened).
    public var deviceErrno: Int32
    /// Features the kernel offers (UFFDIO_API with none requested).
    public var features: UInt64

    public var hasMove: Bool { features & UInt64(PZ_UFFD_FEATURE_MOVE) != 0 }
    public var hasEventFork: Bool { features & UInt64(PZ_UFFD_FEATURE_EVENT_FORK) != 0 }
    /// Write-protect in async mode (Linux >= 6.7): auto reclaim's write signal.
    public var hasWriteProtectAsync: Bool { features & UInt64(PZ_UFFD_FEATURE_WP_ASYNC) != 0 }
    public var usable: Bool {
        switch access {
        case .device, .syscall: return hasMove
        default: return false
        }
    }

    /// Opens (and closes) a userfaultfd the way the library does.
    public static func run() -> UserfaultfdProbe {
        var origin: Int32 = 0
        var devErr: Int32 = 0
        let fd = pz_uffd_open(&origin, &devErr)
        guard fd >= 0 else {
            let access: Access = origin == Int32(PZ_UFFD_USER_MODE_ONLY.rawValue) ? .userModeOnly : .blocked(-fd)
            return UserfaultfdProbe(access: access, deviceErrno: devErr, features: 0)
        }
        var features: UInt64 = 0
        var ioctls: UInt64 = 0
        _ = pz_uffd_api(fd, 0, &features, &ioctls)
        _ = pz_sys_close(fd)
        return UserfaultfdProbe(access: origin == Int32(PZ_UFFD_VIA_DEVICE.rawValue) ? .device : .syscall,
                                deviceErrno: devErr, features: features)
    }

    public static func errnoName(_ e: Int32) -> String {
        switch e {
        case 0: return "no error"
        case 1: return "EPERM"
        case 2: return "ENOENT"
        case 13: return "EACCES"
        case 22: return "EINVAL"
        case 38: return "ENOSYS"
        default: return "errno \(e)"
        }
    }

    /// Why pagezip cannot work, with the fix, for one line of output; nil if it can.
    public func problem(kernelRelease: String) -> String? {
        switch access {
        case .userModeOnly:
            return "this user may not handle kernel-mode page faults (vm.unprivileged_userfaultfd=0 and no access to /dev/userfaultfd: \(UserfaultfdProbe.errnoName(deviceErrno))), so a read(2) into a compressed page would fail; fix: give the user read-write access to /dev/userfaultfd (e.g. `chgrp GROUP /dev/userfaultfd && chmod 0660 /dev/userfaultfd` for a group the user is in) or run `sysctl -w vm.unprivileged_userfaultfd=1`"
        case .blocked(let e):
            if e == 38 { return "the kernel has no userfaultfd (ENOSYS: built without CONFIG_USERFAULTFD)" }
            return "the userfaultfd system call is refused (\(UserfaultfdProbe.errnoName(e))): a seccomp profile (Docker's default blocks it) or a security module; fix: run with a profile that allows userfaultfd"
        case .device, .syscall:
            if !hasMove {
                return "the kernel lacks UFFDIO_MOVE, which pagezip needs to take pages away without losing writes (Linux 6.8 or newer; this is \(kernelRelease))"
            }
            return nil
        }
    }
}
