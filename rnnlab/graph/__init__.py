"""Graph networks: batched graphs with typed edges and the gated graph neural network (Li et al. 2016)."""
from rnnlab.graph.batch import Graph, GraphBatch
from rnnlab.graph.ggnn import GatedGraphNetwork, GraphReadout
from rnnlab.graph.task import NodeTask

__all__ = ["Graph", "GraphBatch", "GatedGraphNetwork", "GraphReadout", "NodeTask"]
