import Foundation
import Testing

@testable import CRMControl

@Suite struct TopicDiagramTests {
    /// The diagram in docs/architecture.md is the one the contract gives: change the contract and
    /// run `crmctl topics diagram --update docs/architecture.md`.
    @Test func architectureDocumentShowsTheContractsFlow() throws {
        let contract = try TopicContract.load(path: contractPath)
        let documentPath = URL(fileURLWithPath: contractPath).deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("docs/architecture.md").path
        let document = try String(contentsOfFile: documentPath, encoding: .utf8)
        let diagram = TopicDiagram.mermaid(contract)
        #expect(TopicDiagram.replacing(in: document, with: diagram) == document, "run crmctl topics diagram --update docs/architecture.md")
    }

    @Test func everyTopicIsDrawnBetweenItsWriterAndItsReaders() throws {
        let contract = try TopicContract.load(path: contractPath)
        let diagram = TopicDiagram.mermaid(contract)
        for topic in contract.topics {
            #expect(diagram.contains("[[\"\(topic.spec.name)\"]]"))
        }
        #expect(diagram.contains("erp --> t_erp_orders_v1") && diagram.contains("t_erp_orders_v1 --> analytics"))
        #expect(diagram.contains("t_crm_classification_runs_v1 -.-> analytics"), "a writer reading its topic back is dotted")
    }
}
