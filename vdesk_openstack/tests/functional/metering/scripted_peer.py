"""A Diameter peer that follows a script, for what a real CDF won't do.

freeDiameter answers every Accounting-Request with 2001 and disconnects
the RFC way; it cannot be asked to send a Disconnect-Peer-Request and keep
the TCP connection open, nor to answer 3002 or 4002. :class:`ScriptedPeer`
is a real TCP server on a loopback port speaking Diameter with the same
codec as the publisher (python-diameter's messages): it answers the
capabilities exchange and watchdogs, and hands every ACR to a script that
says what to do with it -- answer a Result-Code, stay silent, or send a
DPR and keep the connection open. Tests put it before a real
freeDiameter in the publisher's peer list, so that what the publisher does
next ends at the real CDF.
"""

import socket
import threading
import time

from diameter.message import commands
from diameter.message import constants as dc
from diameter.message import Message
import fixtures

from vdesk_openstack.metering import diameter_records as drec

DPR = 'dpr'  # send Disconnect-Peer-Request, keep the connection open
SILENT = 'silent'  # no answer


class ScriptedPeer(fixtures.Fixture):
    """See the module doc.

    :param script: ``script(acr) -> action`` for every Accounting-Request
        (a python-diameter message): a Result-Code (int), :data:`DPR` or
        :data:`SILENT`.
    :param listen_after_dpr: whether new connections are still accepted
        after a DPR (by default the listening socket closes: the peer
        "went down" but left its old connection open).
    """

    def __init__(self, script, identity='scripted.vdesk.test',
                 realm='vdesk.test', listen_after_dpr=False):
        super().__init__()
        self.script = script
        self.identity = identity
        self.realm = realm
        self.listen_after_dpr = listen_after_dpr
        self.acrs = []  # (Session-Id, Accounting-Record-Number, T flag)
        self.log = []  # (monotonic time, what happened)
        self.connections = []
        self._lock = threading.Lock()
        self._stop = threading.Event()

    def _setUp(self):
        self.listener = socket.socket()
        self.listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.listener.bind(('127.0.0.1', 0))
        self.listener.listen(8)
        self.port = self.listener.getsockname()[1]
        self.addCleanup(self._cleanup)
        threading.Thread(target=self._accept, daemon=True).start()

    def _cleanup(self):
        self._stop.set()
        self.stop_listening()
        for conn in self.connections:
            try:
                conn.close()
            except OSError:
                pass

    def stop_listening(self):
        try:
            # shutdown() wakes the accept() of the other thread; close()
            # alone would leave the port listening.
            self.listener.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        try:
            self.listener.close()
        except OSError:
            pass

    def note(self, what):
        with self._lock:
            self.log.append((time.monotonic(), what))

    def events(self):
        with self._lock:
            return [what for _t, what in self.log]

    def when(self, what):
        with self._lock:
            return [t for t, w in self.log if w == what]

    # -- serving -------------------------------------------------------------

    def _accept(self):
        while not self._stop.is_set():
            try:
                conn, _addr = self.listener.accept()
            except OSError:
                return
            self.connections.append(conn)
            self.note('connected')
            threading.Thread(target=self._serve, args=(conn,),
                             daemon=True).start()

    def _read(self, conn, size):
        data = b''
        while len(data) < size:
            chunk = conn.recv(size - len(data))
            if not chunk:
                return None
            data += chunk
        return data

    def _serve(self, conn):
        try:
            while True:
                head = self._read(conn, 20)
                if head is None:
                    self.note('closed by client')
                    return
                length = int.from_bytes(head[1:4], 'big')
                body = self._read(conn, length - 20)
                if body is None:
                    self.note('closed by client')
                    return
                self._on_message(conn, Message.from_bytes(head + body))
        except OSError:
            self.note('connection error')

    def _answer(self, conn, request, answer, result=2001):
        answer.header.hop_by_hop_identifier = \
            request.header.hop_by_hop_identifier
        answer.header.end_to_end_identifier = \
            request.header.end_to_end_identifier
        answer.origin_host = self.identity.encode()
        answer.origin_realm = self.realm.encode()
        answer.result_code = result
        if 3000 <= result < 4000:
            answer.header.is_error = True
        conn.sendall(answer.as_bytes())

    def _on_message(self, conn, msg):
        code = msg.header.command_code
        if not msg.header.is_request:
            if code == dc.CMD_DISCONNECT_PEER:
                self.note('DPA received')
            return
        if code == dc.CMD_CAPABILITIES_EXCHANGE:
            answer = commands.CapabilitiesExchangeAnswer()
            answer.host_ip_address = ['127.0.0.1']
            answer.vendor_id = drec.VENDOR_VDESK
            answer.product_name = 'scripted-peer'
            answer.acct_application_id = [drec.ACCT_APPLICATION_ID]
            self._answer(conn, msg, answer)
        elif code == dc.CMD_DEVICE_WATCHDOG:
            self._answer(conn, msg, commands.DeviceWatchdogAnswer())
        elif code == dc.CMD_DISCONNECT_PEER:
            self.note('DPR received')
            self._answer(conn, msg, commands.DisconnectPeerAnswer())
        elif code == 271:
            with self._lock:
                self.acrs.append((msg.session_id,
                                  msg.accounting_record_number,
                                  msg.header.is_retransmit))
            self._on_acr(conn, msg)

    def _on_acr(self, conn, msg):
        action = self.script(msg)
        if action == SILENT:
            return
        if action == DPR:
            if 'DPR sent' in self.events():
                return
            if not self.listen_after_dpr:
                self.stop_listening()
            dpr = commands.DisconnectPeerRequest()
            dpr.header.hop_by_hop_identifier = 0x7000
            dpr.header.end_to_end_identifier = 0x7000
            dpr.origin_host = self.identity.encode()
            dpr.origin_realm = self.realm.encode()
            dpr.disconnect_cause = dc.E_DISCONNECT_CAUSE_REBOOTING
            self.note('DPR sent')
            conn.sendall(dpr.as_bytes())
            return  # the connection stays open; the ACR unanswered
        answer = commands.AccountingAnswer()
        answer.session_id = msg.session_id
        answer.accounting_record_type = msg.accounting_record_type
        answer.accounting_record_number = msg.accounting_record_number
        self._answer(conn, msg, answer, result=action)
