import Foundation
import SonarLabTestSupport
import Testing

/// The test helpers' process runner: the guarantees that keep a parallel run from hanging.
@Suite("ChildProcess: the test helpers' process runner")
struct ChildProcessTests {
    @Test("a child inherits descriptors 0, 1 and 2 only, even one another thread left open without close-on-exec")
    func inheritsOnlyTheStandardDescriptors() throws {
        var fds: [Int32] = [0, 0]
        #expect(pipe(&fds) == 0)  // no O_CLOEXEC: what Foundation's Process leaves open while it spawns
        defer { for fd in fds { close(fd) } }
        // `ls` opens the folder itself (one more descriptor); everything else listed was inherited.
        let result = try SonarLabProcess.runBlocking("/bin/ls", ["/proc/self/fd"], in: "/")
        let listed = Set(result.stdout.split(separator: "\n").compactMap { Int32($0) })
        #expect(result.status == 0)
        #expect(listed.isSuperset(of: [0, 1, 2]), "\(listed)")
        #expect(listed.intersection(fds).isEmpty, "the open pipe \(fds) reached the child: \(listed)")
        #expect(listed.count <= 4, "\(listed)")
    }

    @Test("the exit is seen when the child ends, though a process it left behind still holds its output")
    func exitIsSeenDespiteADaemonHoldingTheOutput() throws {
        let marker = "sonarlab-child-\(UUID().uuidString.prefix(8))"
        // The background sleep keeps standard output open for 120 s after the shell has exited.
        let result = try SonarLabProcess.runBlocking(
            "/bin/sh", ["-c", "exec -a \(marker) sleep 120 & echo started; exit 7"], in: "/", timeout: 60)
        #expect(result.status == 7)
        #expect(result.stdout == "started\n")
        _ = try SonarLabProcess.runBlocking("/usr/bin/pkill", ["-f", marker], in: "/")
    }

    @Test("a child past its deadline is killed and the run throws ProcessTimeout naming it")
    func aHungChildIsKilledAtItsDeadline() throws {
        #expect {
            try SonarLabProcess.runBlocking("/bin/sleep", ["30"], in: "/", timeout: 0.5)
        } throws: { error in
            (error as? ProcessTimeout)?.description.hasPrefix("/bin/sleep 30 did not end within 0 s") == true
        }
    }

    @Test("exit status, signal, a missing program, and the first line of a server")
    func statusSignalAndFirstLine() throws {
        let child = try ChildProcess("/bin/sh", ["-c", "echo 'listening 127.0.0.1:1'; exec sleep 30"])
        #expect(child.firstLine(timeout: 30) == "listening 127.0.0.1:1")
        #expect(child.isRunning)
        child.signal(SIGTERM)
        #expect(child.waitForExit(timeout: 30))
        #expect(child.wasSignalled && child.terminationStatus == SIGTERM)
        #expect(throws: ChildProcessError.self) { try ChildProcess("sonarlab-no-such-program", []) }
        let dir = try TemporaryDirectory("sonarlab-child")
        defer { dir.remove() }
        let logged = try ChildProcess("/bin/sh", ["-c", "pwd; echo e >&2"], in: dir.path, stdout: .file(dir.file("out")),
            stderr: .file(dir.file("err")))
        #expect(logged.waitForExit(timeout: 30) && logged.terminationStatus == 0)
        #expect(try String(contentsOfFile: dir.file("err"), encoding: .utf8) == "e\n")
        let pwd = try String(contentsOfFile: dir.file("out"), encoding: .utf8)
        #expect(pwd.hasSuffix((dir.path as NSString).lastPathComponent + "\n"), "\(pwd)")
    }
}
