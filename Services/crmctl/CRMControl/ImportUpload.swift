import Foundation

#if canImport(FoundationNetworking)
    import FoundationNetworking
#endif

/// Streams a file to a service's import endpoint (`POST …/import`), reporting upload progress, and
/// returns the service's report. The file is read from disk as it is sent: no size limit.
public final class ImportUpload: NSObject, URLSessionTaskDelegate, @unchecked Sendable {
    public struct Result: Sendable {
        public let status: Int
        public let body: Data
    }

    private let progress: @Sendable (_ sent: Int64, _ total: Int64) -> Void

    public init(progress: @escaping @Sendable (_ sent: Int64, _ total: Int64) -> Void) {
        self.progress = progress
    }

    public func run(url: URL, file: URL, contentType: String, token: String?) async throws -> Result {
        var request = URLRequest(url: url)
        request.httpMethod = "POST"
        request.setValue(contentType, forHTTPHeaderField: "Content-Type")
        if let token { request.setValue("Bearer \(token)", forHTTPHeaderField: "Authorization") }
        // The service answers once every row is applied: allow for a large file.
        request.timeoutInterval = 24 * 3600
        let configuration = URLSessionConfiguration.default
        configuration.timeoutIntervalForRequest = 24 * 3600
        configuration.timeoutIntervalForResource = 7 * 24 * 3600
        let session = URLSession(configuration: configuration, delegate: self, delegateQueue: nil)
        defer { session.finishTasksAndInvalidate() }
        // Progress comes from the body stream itself: on Linux URLSession does not report sent bytes.
        let total = (try? FileManager.default.attributesOfItem(atPath: file.path)[.size] as? Int64) ?? 0
        guard let body = CountingInputStream(path: file.path, total: total, progress: progress) else {
            throw CocoaError(.fileReadNoPermission)
        }
        request.httpBodyStream = body
        return try await withCheckedThrowingContinuation { continuation in
            let task = session.dataTask(with: request) { data, response, error in
                if let error {
                    continuation.resume(throwing: error)
                } else {
                    continuation.resume(returning: Result(status: (response as? HTTPURLResponse)?.statusCode ?? 0, body: data ?? Data()))
                }
            }
            task.resume()
        }
    }

    public func urlSession(
        _ session: URLSession, task: URLSessionTask, didSendBodyData bytesSent: Int64, totalBytesSent: Int64,
        totalBytesExpectedToSend: Int64
    ) {
        progress(totalBytesSent, totalBytesExpectedToSend)
    }
}

/// A file as an input stream that reports how much of it has been read (= handed to the socket).
final class CountingInputStream: InputStream {
    private let handle: FileHandle
    private let total: Int64
    private let progress: @Sendable (Int64, Int64) -> Void
    private var sent: Int64 = 0
    private var ended = false
    private var status: Stream.Status = .notOpen

    init?(path: String, total: Int64, progress: @escaping @Sendable (Int64, Int64) -> Void) {
        guard let handle = FileHandle(forReadingAtPath: path) else { return nil }
        self.handle = handle
        self.total = total
        self.progress = progress
        super.init(data: Data())
    }

    override func open() { status = .open }
    override func close() {
        status = .closed
        try? handle.close()
    }
    override var streamStatus: Stream.Status { status }
    override var hasBytesAvailable: Bool { !ended }

    override func read(_ buffer: UnsafeMutablePointer<UInt8>, maxLength length: Int) -> Int {
        guard let chunk = try? handle.read(upToCount: length), !chunk.isEmpty else {
            ended = true
            status = .atEnd
            return 0
        }
        chunk.copyBytes(to: buffer, count: chunk.count)
        sent += Int64(chunk.count)
        progress(sent, total)
        return chunk.count
    }

    override func getBuffer(_ buffer: UnsafeMutablePointer<UnsafeMutablePointer<UInt8>?>, length len: UnsafeMutablePointer<Int>) -> Bool {
        false
    }
}
