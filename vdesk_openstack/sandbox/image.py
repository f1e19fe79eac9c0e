"""The sandbox's desktop image, built from this machine's Debian packages.

A real desktop image (a full OS with a desktop environment) is large and
slow to boot under QEMU's software emulation. What the sandbox and the
functional tests need from a desktop is smaller: it boots on a real
hypervisor, its disk persists across restarts, and it has a screen and
devices a SPICE client can use. This module builds such a desktop in a few
seconds, from three parts:

* the kernel of ``linux-image-cloud-amd64`` (``/boot/vmlinuz-*-cloud-amd64``);
* an initramfs made of ``busybox-static`` and the kernel's virtio modules,
  whose ``/init`` mounts the desktop disk (``/dev/vda``), increments a boot
  counter kept on it, and prints ``VDESK-DESKTOP boot=<N>`` on the serial
  console (``ttyS0``) and on the screen, then keeps a shell on the serial
  console;
* the desktop disk: an empty ext4 file system in a qcow2 image.

A desktop restored on the same disk thus shows ``boot=N+1``: the serial
console is the proof that a desktop kept its disk. Glance takes the kernel
as an ``aki`` image, the initramfs as an ``ari`` image and the disk as the
image whose ``kernel_id`` / ``ramdisk_id`` properties name them.

``python -m vdesk_openstack.sandbox.image OUTDIR`` builds it in OUTDIR.
"""

import collections
import glob
import gzip
import io
import lzma
import os
import re
import shutil
import stat
import subprocess  # nosec: runs mkfs.ext4 and qemu-img, no shell
import sys
import tempfile

BOOT_LINE = 'VDESK-DESKTOP boot=%d'
BOOT_LINE_RE = re.compile(r'VDESK-DESKTOP boot=(\d+)\r?$', re.MULTILINE)

KERNEL_GLOB = '/boot/vmlinuz-*-cloud-amd64'
BUSYBOX = '/bin/busybox'
# Loaded in this order (dependencies first); ext4 is built into the kernel.
VIRTIO_MODULES = (
    ('virtio_ring', 'kernel/drivers/virtio'),
    ('virtio', 'kernel/drivers/virtio'),
    ('virtio_pci_modern_dev', 'kernel/drivers/virtio'),
    ('virtio_pci_legacy_dev', 'kernel/drivers/virtio'),
    ('virtio_pci', 'kernel/drivers/virtio'),
    ('virtio_blk', 'kernel/drivers/block'),
)
DISK_SIZE_MIB = 64
COUNTER_FILE = 'vdesk/boot-count'

DesktopImage = collections.namedtuple('DesktopImage',
                                      ['kernel', 'ramdisk', 'disk'])
DesktopImage.__doc__ = ('Paths of a desktop image: kernel (aki), ramdisk '
                        '(ari, the initramfs) and disk (qcow2).')

INIT = r'''#!/bin/busybox sh
# The desktop's init: count this boot on the desktop's own disk.
/bin/busybox --install -s /bin
export PATH=/bin
mount -t devtmpfs devtmpfs /dev
mount -t proc proc /proc
mount -t sysfs sysfs /sys
for module in %(modules)s; do
    # A module may be built into another kernel: ignore its absence.
    [ -e /lib/modules/$module.ko ] && insmod /lib/modules/$module.ko
done

# Nova may put another console last on the command line: the serial line
# is written explicitly, and the screen too, so that a viewer shows it.
say() {
    echo "$*" > /dev/ttyS0
    [ -c /dev/tty0 ] && echo "$*" > /dev/tty0
}

tries=0
while [ ! -b /dev/vda ] && [ $tries -lt 300 ]; do
    sleep 0.1
    tries=$((tries + 1))
done
mkdir -p /desktop
if mount -t ext4 /dev/vda /desktop; then
    mkdir -p /desktop/vdesk
    boots=$(cat /desktop/%(counter)s 2>/dev/null)
    boots=$((${boots:-0} + 1))
    echo $boots > /desktop/%(counter)s.new
    mv /desktop/%(counter)s.new /desktop/%(counter)s
    sync
    say "VDESK-DESKTOP boot=$boots"
else
    say "VDESK-DESKTOP error: cannot mount the desktop disk /dev/vda"
fi

# Stay up with a shell on the serial console (virsh console, Nova's
# serial console).
while true; do
    setsid sh -c 'exec sh < /dev/ttyS0 > /dev/ttyS0 2>&1'
    sleep 1
done
'''


class ImageBuildError(Exception):
    """A package or tool the desktop image is built from is missing."""


def _find_kernel():
    kernels = glob.glob(KERNEL_GLOB)
    if not kernels:
        raise ImageBuildError(
            'no kernel matches %s; install it with: '
            'apt-get install linux-image-cloud-amd64' % KERNEL_GLOB)

    def version_key(path):
        version = os.path.basename(path)[len('vmlinuz-'):]
        return [int(p) if p.isdigit() else p
                for p in re.split(r'[.-]', version)]

    kernel = max(kernels, key=version_key)
    if not os.access(kernel, os.R_OK):
        raise ImageBuildError('cannot read %s (run as root)' % kernel)
    return kernel, os.path.basename(kernel)[len('vmlinuz-'):]


def _module_bytes(release, name, subdir):
    base = os.path.join('/lib/modules', release, subdir, name + '.ko')
    if os.path.exists(base):
        with open(base, 'rb') as f:
            return f.read()
    if os.path.exists(base + '.xz'):
        # busybox's insmod cannot decompress: unpack at build time.
        with lzma.open(base + '.xz') as f:
            return f.read()
    return None


class _Newc:
    """A writer of the cpio "newc" archives the kernel unpacks."""

    def __init__(self):
        self._out = io.BytesIO()
        self._ino = 0

    def _entry(self, name, mode, data=b''):
        self._ino += 1
        name_bytes = name.encode() + b'\0'
        fields = (self._ino, mode, 0, 0, 1, 0, len(data), 0, 0, 0, 0,
                  len(name_bytes), 0)
        header = b'070701' + b''.join(b'%08x' % f for f in fields)
        self._out.write(header + name_bytes)
        self._out.write(b'\0' * (-(len(header) + len(name_bytes)) % 4))
        self._out.write(data)
        self._out.write(b'\0' * (-len(data) % 4))

    def directory(self, name):
        self._entry(name, stat.S_IFDIR | 0o755)

    def file(self, name, data, mode=0o644):
        self._entry(name, stat.S_IFREG | mode, data)

    def close(self):
        self._entry('TRAILER!!!', 0)
        return self._out.getvalue()


def build_initramfs(release, path):
    """Write the desktop's initramfs (gzip'd newc cpio) to ``path``."""
    if not os.path.exists(BUSYBOX) or not _is_static(BUSYBOX):
        raise ImageBuildError(
            'no static %s; install it with: apt-get install busybox-static'
            % BUSYBOX)
    archive = _Newc()
    for name in ('bin', 'dev', 'proc', 'sys', 'lib', 'lib/modules'):
        archive.directory(name)
    with open(BUSYBOX, 'rb') as f:
        archive.file('bin/busybox', f.read(), 0o755)
    loaded = []
    for name, subdir in VIRTIO_MODULES:
        data = _module_bytes(release, name, subdir)
        if data is None:
            if name in ('virtio_blk', 'virtio_pci') and not _builtin(
                    release, name):
                raise ImageBuildError(
                    'kernel %s has no %s module in /lib/modules; reinstall '
                    'linux-image-cloud-amd64' % (release, name))
            continue
        archive.file('lib/modules/%s.ko' % name, data)
        loaded.append(name)
    init = INIT % {'modules': ' '.join(loaded), 'counter': COUNTER_FILE}
    archive.file('init', init.encode(), 0o755)
    with open(path, 'wb') as f:
        # mtime=0: the same packages give the same initramfs.
        with gzip.GzipFile(fileobj=f, mode='wb', mtime=0) as gz:
            gz.write(archive.close())


def _is_static(path):
    with open(path, 'rb') as f:
        elf = f.read(1 << 20)
    # A dynamic executable names its interpreter (ld-linux).
    return elf.startswith(b'\x7fELF') and b'/ld-linux' not in elf


def _builtin(release, name):
    builtin = os.path.join('/lib/modules', release, 'modules.builtin')
    try:
        with open(builtin) as f:
            return any(line.strip().endswith('/%s.ko' % name) for line in f)
    except OSError:
        return False


def _tool(name, package):
    path = shutil.which(name) or shutil.which(name, path='/usr/sbin:/sbin')
    if not path:
        raise ImageBuildError('%s not found; install it with: '
                              'apt-get install %s' % (name, package))
    return path


def _run(argv):
    try:
        subprocess.run(argv, check=True, capture_output=True,  # nosec
                       text=True)  # fixed tools, paths we created, no shell
    except subprocess.CalledProcessError as e:
        raise ImageBuildError('%s failed: %s' % (
            ' '.join(argv), (e.stderr or e.stdout).strip()))


def build_disk(path, size_mib=DISK_SIZE_MIB):
    """Write an empty ext4 desktop disk, as qcow2, to ``path``."""
    mkfs = _tool('mkfs.ext4', 'e2fsprogs')
    qemu_img = _tool('qemu-img', 'qemu-utils')
    with tempfile.TemporaryDirectory(dir=os.path.dirname(path)) as tmp:
        raw = os.path.join(tmp, 'disk.raw')
        with open(raw, 'wb') as f:
            f.truncate(size_mib << 20)
        _run([mkfs, '-q', '-F', '-L', 'vdesk-desktop', raw])
        _run([qemu_img, 'convert', '-q', '-f', 'raw', '-O', 'qcow2', raw,
              path])


def build_desktop_image(workdir):
    """Build the desktop image in ``workdir``; return its DesktopImage.

    Raises ImageBuildError naming the missing package or file.
    """
    os.makedirs(workdir, exist_ok=True)
    kernel_src, release = _find_kernel()
    image = DesktopImage(kernel=os.path.join(workdir, 'vmlinuz'),
                         ramdisk=os.path.join(workdir, 'initramfs.img'),
                         disk=os.path.join(workdir, 'desktop.qcow2'))
    # A copy: the hypervisor relabels the files a guest uses, and the
    # machine's own kernel in /boot must stay as it is.
    shutil.copyfile(kernel_src, image.kernel)
    build_initramfs(release, image.ramdisk)
    build_disk(image.disk)
    for path in image:
        os.chmod(path, 0o644)
    return image


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    if len(argv) != 1 or argv[0].startswith('-'):
        print('usage: python -m vdesk_openstack.sandbox.image OUTDIR',
              file=sys.stderr)
        return 2
    try:
        image = build_desktop_image(argv[0])
    except (ImageBuildError, OSError) as e:
        print('cannot build the desktop image: %s' % e, file=sys.stderr)
        return 1
    for kind, path in zip(('kernel', 'ramdisk', 'disk'), image):
        print('%s %s' % (kind, path))
    return 0


if __name__ == '__main__':
    sys.exit(main())
