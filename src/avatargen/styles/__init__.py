"""avatargen.styles: probabilities of character styles (one value per attribute).

data (loading, validation) -> rules (rules files, rules on the data) / consistency -> estimate
(counts, MLE + Dirichlet, MI, Chow-Liu) -> structure (the tree) -> network (tree Bayesian network,
exact inference) -> tables (counts and smoothed conditional tables) -> sample (ancestral, unique)
-> model (StyleModel: fit / probability / sample / score; its learned state declared in state, its
names <-> codes in codes) with persistence (save / load) -> explain, diversity, experiment.
"""
