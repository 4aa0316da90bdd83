"""avatargen.styles: probabilities of character styles (one value per attribute).

data (loading, validation) -> rules (rules files, rules on the data) / consistency -> estimate
(counts, MLE + Dirichlet, MI, Chow-Liu) -> structure (the tree) -> network (tree Bayesian network,
exact inference) -> sample (ancestral, unique) -> model (StyleModel: fit / probability / sample /
score) with persistence (save / load) -> explain, diversity, experiment.
"""
