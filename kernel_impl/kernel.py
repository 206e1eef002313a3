"""A small capability microkernel, written the way an implementer would.

Kernel objects are classes, each thread's CSpace is a dict of slots, and the
capability derivation tree is kept as parent *and* child links (so revoke can
walk down the tree). `Kernel.syscall(thread, op, *args)` is the only entry
point; it returns `Ok` or an seL4-style error, and a failed call changes
nothing. Revoke is preemptible: the call only starts it, and each
`preemption_point()` (the kernel's return path) deletes one descendant.

`models/kernel/concrete.ftv` is the spec this code must implement, and
`kernel_impl.abstraction` maps a `Kernel` to a state of that spec.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum

READ, WRITE, GRANT = 1, 2, 4
MASKS = (READ | WRITE | GRANT, READ | WRITE, READ)  # the rights masks copy and mint accept


class Error(Enum):
    """What a failed system call returns (the kernel state is unchanged)."""

    INVALID_CAPABILITY = "invalid capability"  # empty slot, or the wrong kind of object
    INSUFFICIENT_RIGHTS = "insufficient rights"
    SLOT_OCCUPIED = "destination slot occupied"
    INVALID_ARGUMENT = "invalid argument"  # a slot, thread, mask or badge out of range
    ILLEGAL_OPERATION = "illegal operation"  # e.g. re-badging a badged capability
    REVOKE_IN_PROGRESS = "a revoke is in progress"
    HALTED = "kernel halted"


@dataclass(frozen=True)
class Ok:
    value: int | None = None


Result = Ok | Error


class ObjKind(Enum):
    ENDPOINT = "endpoint"
    FRAME = "frame"


@dataclass
class KernelObject:
    name: str  # EP0, FR0, FR1: the spec's names
    kind: ObjKind
    domain: str | None = None  # for frames: the domain whose frame it is
    data: int = 0  # a frame's word


@dataclass(frozen=True)
class Capability:
    obj: KernelObject
    rights: int
    badge: int = 0

    def has(self, rights: int) -> bool:
        return self.rights & rights == rights


@dataclass(eq=False)
class CTE:
    """A capability table entry: the capability and its place in the derivation tree."""

    cap: Capability
    parent: CTE | None = None
    children: list[CTE] = field(default_factory=list)
    slot: tuple[int, int] = (0, 0)  # (thread, index), for reporting and the abstraction


@dataclass
class Thread:
    tid: int
    domain: str
    cspace: dict[int, CTE | None]
    register: int = 0


@dataclass
class Config:
    threads: int = 3
    slots_per_thread: int = 2
    badges: int = 2
    word_bits: int = 2


class Kernel:
    """The kernel in the scenario of `models/kernel`: t0 root and t1 client in domain A,
    t2 untrusted in domain B, one endpoint EP0, one frame per domain."""

    def __init__(self, config: Config | None = None) -> None:
        self.config = c = config or Config()
        self.ep0 = KernelObject("EP0", ObjKind.ENDPOINT)
        self.frames = [KernelObject("FR0", ObjKind.FRAME, "A"), KernelObject("FR1", ObjKind.FRAME, "B")]
        self.threads = [Thread(t, "A" if t < 2 else "B", {i: None for i in range(c.slots_per_thread)})
                        for t in range(c.threads)]
        self.halted = False
        self.revoking: CTE | None = None
        root = self._put(0, 0, Capability(self.ep0, READ | WRITE | GRANT))
        self._put(0, 1, Capability(self.frames[0], READ | WRITE))
        self._put(1, 0, Capability(self.ep0, READ), parent=root)
        self._put(2, 0, Capability(self.ep0, WRITE, badge=1), parent=root)
        self._put(2, 1, Capability(self.frames[1], READ | WRITE))

    def _put(self, t: int, i: int, cap: Capability, parent: CTE | None = None) -> CTE:
        cte = CTE(cap, parent, [], (t, i))
        self.threads[t].cspace[i] = cte
        if parent is not None:
            parent.children.append(cte)
        return cte

    # ------------------------------------------------------------ the entry point
    def syscall(self, thread: int, op: str, *args: int) -> Result:
        """Run one system call of `thread`; on an error nothing has changed."""
        if self.halted:
            return Error.HALTED
        if not 0 <= thread < len(self.threads):
            return Error.INVALID_ARGUMENT
        if self.revoking is not None:
            return Error.REVOKE_IN_PROGRESS
        handler = getattr(self, f"_sys_{op}", None)
        if handler is None:
            return Error.ILLEGAL_OPERATION
        try:
            return handler(self.threads[thread], *args)
        except TypeError:
            return Error.INVALID_ARGUMENT  # wrong number of arguments

    def user_set(self, thread: int, value: int) -> None:
        """User code (not a system call): put a value in the thread's register."""
        self.threads[thread].register = value % (1 << self.config.word_bits)

    # ------------------------------------------------------------ lookups
    def _lookup(self, t: Thread, i: int) -> CTE | Error:
        if not 0 <= i < len(t.cspace):
            return Error.INVALID_ARGUMENT
        cte = t.cspace[i]
        return Error.INVALID_CAPABILITY if cte is None else cte

    def _free(self, t: Thread, j: int) -> Error | None:
        if not 0 <= j < len(t.cspace):
            return Error.INVALID_ARGUMENT
        return Error.SLOT_OCCUPIED if t.cspace[j] is not None else None

    # ------------------------------------------------------------ capability management
    def _derived_rights(self, src: Capability, mask: int) -> int:
        return src.rights & mask

    def _sys_copy(self, t: Thread, i: int, j: int, m: int) -> Result:
        src = self._lookup(t, i)
        if isinstance(src, Error):
            return src
        if (err := self._free(t, j)) or not 0 <= m < len(MASKS):
            return err or Error.INVALID_ARGUMENT
        self._put(t.tid, j, Capability(src.cap.obj, self._derived_rights(src.cap, MASKS[m]), src.cap.badge), src)
        return Ok()

    def _sys_mint(self, t: Thread, i: int, j: int, m: int, badge: int) -> Result:
        src = self._lookup(t, i)
        if isinstance(src, Error):
            return src
        if (err := self._free(t, j)) or not 0 <= m < len(MASKS) or not 0 < badge < self.config.badges:
            return err or Error.INVALID_ARGUMENT
        if src.cap.obj.kind is not ObjKind.ENDPOINT:
            return Error.INVALID_CAPABILITY
        if src.cap.badge != 0:
            return Error.ILLEGAL_OPERATION
        self._put(t.tid, j, Capability(src.cap.obj, self._derived_rights(src.cap, MASKS[m]), badge), src)
        return Ok()

    def _sys_move(self, t: Thread, i: int, j: int) -> Result:
        src = self._lookup(t, i)
        if isinstance(src, Error):
            return src
        if err := self._free(t, j):
            return err
        t.cspace[i], t.cspace[j] = None, src  # the entry moves; its tree links come with it
        src.slot = (t.tid, j)
        return Ok()

    def _unlink(self, cte: CTE) -> None:
        """Remove an entry from the tree: its children move up to its parent."""
        for child in cte.children:
            child.parent = cte.parent
            if cte.parent is not None:
                cte.parent.children.append(child)
        if cte.parent is not None:
            cte.parent.children.remove(cte)
        cte.children = []
        t, i = cte.slot
        self.threads[t].cspace[i] = None

    def _sys_delete(self, t: Thread, i: int) -> Result:
        cte = self._lookup(t, i)
        if isinstance(cte, Error):
            return cte
        self._unlink(cte)
        return Ok()

    def _sys_revoke(self, t: Thread, i: int) -> Result:
        cte = self._lookup(t, i)
        if isinstance(cte, Error):
            return cte
        self.revoking = cte  # the work happens at the preemption points
        return Ok()

    def _next_to_revoke(self, root: CTE) -> CTE | None:
        """A descendant of `root` to delete next: a leaf, so the tree above it stays intact."""
        node = root
        while node.children:
            node = node.children[-1]
        return node if node is not root else None

    def preemption_point(self) -> tuple[int, int] | None:
        """One unit of a revoke in progress: delete one descendant and return its slot, or
        finish the revoke (return None). Does nothing when no revoke is in progress."""
        if self.revoking is None or self.halted:
            return None
        victim = self._next_to_revoke(self.revoking)
        if victim is None:
            self.revoking = None
            return None
        slot = victim.slot
        self._revoke_one(victim)
        return slot

    def _revoke_one(self, victim: CTE) -> None:
        self._unlink(victim)

    def descendants(self, cte: CTE) -> list[CTE]:
        out, stack = [], list(cte.children)
        while stack:
            c = stack.pop()
            out.append(c)
            stack.extend(c.children)
        return out

    # ------------------------------------------------------------ IPC
    def _receiver_on(self, u: Thread, ep: KernelObject) -> bool:
        return any(c is not None and c.cap.obj is ep and c.cap.has(READ) for c in u.cspace.values())

    def _ipc_receiver(self, t: Thread, ep: CTE, u: int, may_send: bool) -> Thread | Error:
        """The receiving thread of an IPC from t over `ep` to u, or why there is none."""
        if not 0 <= u < len(self.threads) or u == t.tid:
            return Error.INVALID_ARGUMENT
        if ep.cap.obj.kind is not ObjKind.ENDPOINT:
            return Error.INVALID_CAPABILITY
        if not may_send:
            return Error.INSUFFICIENT_RIGHTS
        receiver = self.threads[u]
        if not self._receiver_on(receiver, ep.cap.obj):
            return Error.INVALID_CAPABILITY  # nobody receives on that endpoint there
        return receiver

    def _sys_send_grant(self, t: Thread, e: int, x: int, u: int, j: int) -> Result:
        ep, sent = self._lookup(t, e), self._lookup(t, x)
        if isinstance(ep, Error):
            return ep
        if isinstance(sent, Error):
            return sent
        receiver = self._ipc_receiver(t, ep, u, self._may_grant(ep.cap))
        if isinstance(receiver, Error):
            return receiver
        if err := self._free(receiver, j):
            return err
        self._put(u, j, sent.cap, sent)
        return Ok()

    def _may_grant(self, cap: Capability) -> bool:
        return cap.has(WRITE | GRANT)

    def _sys_send(self, t: Thread, e: int, u: int) -> Result:
        ep = self._lookup(t, e)
        if isinstance(ep, Error):
            return ep
        receiver = self._ipc_receiver(t, ep, u, ep.cap.has(WRITE))
        if isinstance(receiver, Error):
            return receiver
        receiver.register = t.register
        return Ok()

    # ------------------------------------------------------------ memory
    def _frame_cap(self, t: Thread, i: int, right: int) -> CTE | Error:
        cte = self._lookup(t, i)
        if isinstance(cte, Error):
            return cte
        if cte.cap.obj.kind is not ObjKind.FRAME:
            return Error.INVALID_CAPABILITY
        if not cte.cap.has(right):
            return Error.INSUFFICIENT_RIGHTS
        return cte

    def _sys_read(self, t: Thread, i: int) -> Result:
        cte = self._frame_cap(t, i, READ)
        if isinstance(cte, Error):
            return cte
        t.register = cte.cap.obj.data
        return Ok(t.register)

    def _sys_write(self, t: Thread, i: int) -> Result:
        cte = self._frame_cap(t, i, WRITE)
        if isinstance(cte, Error):
            return cte
        cte.cap.obj.data = t.register
        return Ok()
